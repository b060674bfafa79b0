/**
 * nginx configurations, one per instance, each under its own prefix in
 * bench/.work/: `daemon off;` keeps the master our child, one worker keeps it
 * single-process like the Node contenders.
 */
import { CACHED_CONTROL } from '../origin/files';

export interface NginxSite {
  prefix: string;
  port: number;
  /** either a directory to serve (the origin) ... */
  root?: string;
  /** ... or an upstream port to proxy_pass to (the contender) */
  upstreamPort?: number;
  /** worker_rlimit_nofile and worker_connections: enough for every slow stream */
  openFiles: number;
}

export function nginxConf({ prefix, port, root, upstreamPort, openFiles }: NginxSite): string {
  const site = root
    ? `root ${root};\n      location / { }\n      location = /cached { alias ${root}/small; add_header Cache-Control "${CACHED_CONTROL}"; }`
    : `location / {
        proxy_pass http://origin;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        # stream with in-memory buffers only: no temp files, backpressure to the origin
        proxy_max_temp_file_size 0;
      }`;
  const upstream = upstreamPort
    ? `upstream origin {
      server 127.0.0.1:${upstreamPort};
      keepalive 128;
      keepalive_requests 10000000;
    }`
    : '';
  return `daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile ${openFiles};
pid ${prefix}/nginx.pid;
lock_file ${prefix}/nginx.lock;
error_log ${prefix}/error.log warn;
events {
  worker_connections ${openFiles};
}
http {
  access_log off;
  default_type application/octet-stream;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65s;
  keepalive_requests 10000000;
  client_body_temp_path ${prefix}/tmp/body;
  proxy_temp_path ${prefix}/tmp/proxy;
  fastcgi_temp_path ${prefix}/tmp/fastcgi;
  uwsgi_temp_path ${prefix}/tmp/uwsgi;
  scgi_temp_path ${prefix}/tmp/scgi;
  ${upstream}
  server {
      listen 127.0.0.1:${port} backlog=4096;
      ${site}
  }
}
`;
}
