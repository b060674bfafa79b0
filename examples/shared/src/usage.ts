/** The curl commands to try, printed once the gateway listens. */
export function printUsage(port: number, token: string): void {
  const base = `http://127.0.0.1:${port}`;
  const auth = `-H 'Authorization: Bearer ${token}'`;
  console.log(`
Gateway listening on ${base} (Ctrl-C to stop). Try:

  # no token: 401
  curl -i ${base}/reports/42

  # a report streamed over ~2 s; CSP added, x-internal-host removed
  curl -iN ${auth} ${base}/reports/42

  # 20 MiB throttled to 2 MiB/s: ~10 s
  curl -o /dev/null -w '%{size_download} %{time_total}\\n' ${auth} ${base}/downloads/big

  # upload streamed upstream; compare the sha256
  head -c 5000000 /dev/urandom > /tmp/u.bin && sha256sum /tmp/u.bin
  curl --data-binary @/tmp/u.bin ${auth} ${base}/uploads
`);
}
