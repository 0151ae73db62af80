// The emulators listen only where nothing on the network can reach them.

/** localhost, ::1 or 127.x.x.x. */
export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
