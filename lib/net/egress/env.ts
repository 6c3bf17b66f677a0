// The proxy variables a sandbox with an egress policy gets (SPEC 5.1). They are a
// convenience for programs that honour them; the policy does not depend on them: the
// sandbox's netns has no other way out.
import type { SandboxOptions } from '../../options.js';
import { DEFAULT_PROXY_PORT } from './options.js';

export function egressEnv(options: SandboxOptions): Record<string, string> | undefined {
  const net = options.namespaces?.net;
  if (!net?.egress || net.join !== undefined) return undefined;
  const port = net.egress.port ?? DEFAULT_PROXY_PORT;
  const http = `http://127.0.0.1:${port}`;
  const socks = `socks5h://127.0.0.1:${port}`;
  const noProxy = 'localhost,127.0.0.1,::1';
  return {
    HTTP_PROXY: http,
    HTTPS_PROXY: http,
    ALL_PROXY: socks,
    http_proxy: http,
    https_proxy: http,
    all_proxy: socks,
    NO_PROXY: noProxy,
    no_proxy: noProxy,
    NODE_USE_ENV_PROXY: '1',
  };
}
