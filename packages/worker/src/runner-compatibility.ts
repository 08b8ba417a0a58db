/**
 * Whether a flow project's SDK can be run by this worker's runner bootstrap: the same major version,
 * and while the major is 0, the same minor (pre-1.0 minors may change the runner protocol). One
 * version is released for all Flowplane packages, so matching versions is the normal case.
 */
export function compatibleSdkVersion(sdkVersion: string, workerVersion: string): boolean {
  const parse = (v: string) => /^(\d+)\.(\d+)\.(\d+)/.exec(v)?.slice(1, 3).map(Number);
  const sdk = parse(sdkVersion);
  const worker = parse(workerVersion);
  if (!sdk || !worker) return false;
  return sdk[0] === worker[0] && (worker[0] !== 0 || sdk[1] === worker[1]);
}
