// The rule for every URL the service calls, trusts or advertises: https, or http only to this
// machine (the emulators, a local issuer), where nothing on the network can read or change it.

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** True for hosts that never leave this machine: http:// is allowed only to them. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** https, or http on a loopback host. */
export function isHttpsOrLoopbackHttp(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackHost(url.hostname));
}

/** How a setting that breaks the rule is told, after its name. */
export const HTTPS_OR_LOOPBACK_HTTP = 'must be https:// (http:// only on a loopback host)';
