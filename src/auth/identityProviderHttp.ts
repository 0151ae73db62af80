// HTTP to the identity provider (Entra ID, or its local emulator): discovery documents, key
// sets, and MSAL's token requests. Every request has a timeout and a size limit, and the
// authority's TLS certificate may be checked against a CA given in configuration
// (AZURE_AUTHORITY_CA_FILE) — for this client only, never by loosening TLS process-wide.
import { createSecureContext, rootCertificates, type SecureContext } from 'node:tls';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export class IdentityProviderHttp {
  /**
   * The configured CA in addition to the system's: other issuers keep their public certificates.
   * Its TLS context is made once: given only `ca`, each connection would parse every root
   * certificate again. (`ca` is given too: the agent keeps these connections apart by it.)
   */
  private readonly tls: { ca: string[]; secureContext: SecureContext } | undefined;

  constructor(private readonly options: { ca: string | undefined; timeoutMs: number }) {
    const ca = options.ca === undefined ? undefined : [...rootCertificates, options.ca];
    this.tls = ca && { ca, secureContext: createSecureContext({ ca }) };
  }

  /** Sends one request and parses the JSON answer, whatever its status. */
  request(url: string, { method = 'GET', headers = {}, body }: RequestOptions = {}): Promise<HttpAnswer> {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    return new Promise<HttpAnswer>((resolve, reject) => {
      const req = send(target, {
        method,
        headers: { accept: 'application/json', ...headers, ...(body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) }) },
        signal: AbortSignal.timeout(this.options.timeoutMs),
        ...(target.protocol === 'https:' && this.tls ? this.tls : {}),
      }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new Error(`${target.origin} answered more than ${MAX_BODY_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({
              status: res.statusCode ?? 0,
              headers: Object.fromEntries(Object.entries(res.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : String(value)])),
              body: text === '' ? {} : JSON.parse(text),
            });
          } catch {
            reject(new Error(`${target.origin}${target.pathname} answered ${res.statusCode} with a body that is not JSON`));
          }
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** GET that must answer 200 with a JSON object. */
  async getJson(url: string): Promise<Record<string, unknown>> {
    const answer = await this.request(url);
    if (answer.status !== 200 || typeof answer.body !== 'object' || answer.body === null) {
      throw new Error(`${url} answered ${answer.status}`);
    }
    return answer.body as Record<string, unknown>;
  }
}
