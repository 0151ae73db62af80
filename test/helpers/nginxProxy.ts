// Debian's nginx as a real reverse proxy in front of the service, for the tests of how the
// client IP is read behind a proxy: one process of its own (no master, no daemon) with its own
// prefix, configuration, pid file and error log, on a free loopback port, killed at teardown.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './freePort.js';

const NGINX = '/usr/sbin/nginx';

/** Why a test needing nginx cannot run here, or undefined when it can. */
export const nginxMissing = existsSync(NGINX)
  ? undefined
  : `nginx is not installed at ${NGINX} (.ci/run installs Debian's nginx-light), so the reverse-proxy test cannot run`;

export interface NginxProxy {
  /** Where clients reach nginx. */
  port: number;
  /** The address nginx connects to the service from (proxy_bind): what TRUST_PROXY lists. */
  address: string;
}

interface Tap {
  teardown(fn: () => unknown): void;
}


function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

/**
 * nginx forwarding to the service on `upstreamPort` the way ingress controllers do: it appends
 * the address it was connected from to X-Forwarded-For ($proxy_add_x_forwarded_for), and
 * connects from `address`.
 */
export async function startNginxProxy(t: Tap, upstreamPort: number, address = '127.0.0.10'): Promise<NginxProxy> {
  // A free port is only free until someone takes it: another test file may, between our
  // look and nginx's bind. Then nginx exits at once, and we try another.
  for (let attempt = 1; ; attempt++) {
    const prefix = mkdtempSync(join(tmpdir(), 'acs-test-nginx-'));
    const port = await freePort();
    const temp = (name: string) => join(prefix, name);
    writeFileSync(temp('nginx.conf'), `
daemon off;
master_process off;
worker_processes 1;
pid ${temp('nginx.pid')};
error_log ${temp('error.log')} warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${temp('body')};
  proxy_temp_path ${temp('proxy')};
  fastcgi_temp_path ${temp('fastcgi')};
  uwsgi_temp_path ${temp('uwsgi')};
  scgi_temp_path ${temp('scgi')};
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://127.0.0.1:${upstreamPort};
      proxy_bind ${address};
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header Host $host;
    }
  }
}
`);
    const child = spawn(NGINX, ['-p', prefix, '-c', temp('nginx.conf'), '-e', temp('error.log')], { stdio: 'ignore' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    let gone = false;
    // If the test process is ended before its teardown, nginx (daemon off) must not outlive it.
    const killOnExit = () => child.kill('SIGKILL');
    process.once('exit', killOnExit);
    void exited.then(() => { gone = true; process.off('exit', killOnExit); });
    t.teardown(async () => {
      if (!gone) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(prefix, { recursive: true, force: true });
    });
    for (let i = 0; i < 100 && !gone; i++) {
      if (await accepts(port)) return { port, address };
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const log = existsSync(temp('error.log')) ? readFileSync(temp('error.log'), 'utf8') : '';
    if (!gone || attempt >= 5 || !log.includes('Address already in use')) {
      throw new Error(`nginx did not start on 127.0.0.1:${port}: ${log.trim() || 'no error log'}`);
    }
  }
}
