/** The entries of a comma-separated setting, trimmed, empty ones dropped. */
export function splitList(value: string | undefined): string[] {
  return (value ?? '').split(',').map((s) => s.trim()).filter((s) => s.length > 0);
}
