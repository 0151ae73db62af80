// The operator's own sign-in, for what only an administrator may do or read in the directory
// (app registrations, service principals, consent): never the service's credential.
// Device code by default (works over SSH and in containers); `--use-azure-cli` reuses `az login`.
// AZURE_AUTHORITY_HOST and GRAPH_BASE_URL point both at other clouds, or at the emulators in tests.
import { createRequire } from 'node:module';
import type { TokenCredential } from '@azure/identity';
import { HTTPS_OR_LOOPBACK_HTTP, isHttpsOrLoopbackHttp } from '../shared/urlRules.js';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';
export const DEFAULT_GRAPH_BASE_URL = 'https://graph.microsoft.com';

export interface OperatorSignIn {
  useAzureCli: boolean;
  authorityHost: string;
  graphBaseUrl: string;
}

/** A setting that cannot be used: the message names it. */
export class SetupError extends Error {}

function baseUrl(name: string, value: string | undefined, fallback: string, httpsOnly: boolean): string {
  const text = (value || fallback).replace(/\/+$/, '');
  const url = URL.canParse(text) ? new URL(text) : undefined;
  if (!url || (httpsOnly ? url.protocol !== 'https:' : !isHttpsOrLoopbackHttp(url))) {
    throw new SetupError(`${name} (${text}) ${httpsOnly ? 'must be an https:// URL' : HTTPS_OR_LOOPBACK_HTTP}`);
  }
  return text;
}

export function operatorSignIn(env: NodeJS.ProcessEnv, useAzureCli: boolean): OperatorSignIn {
  return {
    useAzureCli,
    // MSAL, under DeviceCodeCredential, refuses an http:// authority.
    authorityHost: baseUrl('AZURE_AUTHORITY_HOST', env.AZURE_AUTHORITY_HOST, DEFAULT_AUTHORITY_HOST, true),
    graphBaseUrl: baseUrl('GRAPH_BASE_URL', env.GRAPH_BASE_URL, DEFAULT_GRAPH_BASE_URL, false),
  };
}

/** The operator's credential in `tenantId` (undefined: the tenant of the account they sign in with). */
export function operatorCredential(signIn: OperatorSignIn, tenantId: string | undefined, prompt: (message: string) => void): TokenCredential {
  // Loaded only here: the service itself never needs these credentials.
  const { AzureCliCredential, DeviceCodeCredential } = createRequire(import.meta.url)('@azure/identity') as typeof import('@azure/identity');
  if (signIn.useAzureCli) return azureCliSignIn(new AzureCliCredential({ tenantId }), tenantId);
  return new DeviceCodeCredential({
    tenantId: tenantId ?? 'organizations',
    authorityHost: signIn.authorityHost,
    // Instance discovery asks login.microsoftonline.com about the authority: only for its own.
    disableInstanceDiscovery: signIn.authorityHost !== DEFAULT_AUTHORITY_HOST,
    userPromptCallback: (info) => { prompt(info.message); },
  });
}

/** The Azure CLI's credential, its refusals told as what the operator should do, without the SDK's class names. */
function azureCliSignIn(credential: TokenCredential, tenantId: string | undefined): TokenCredential {
  return {
    async getToken(scopes, options) {
      try {
        return await credential.getToken(scopes, options);
      } catch (error) {
        const message = (error as Error).message;
        // AzureCliCredential's words when `az` says no account is signed in (its other messages name `az login` too).
        if (message.startsWith("Please run 'az login'")) {
          throw new SetupError(`the Azure CLI is not signed in: run \`az login${tenantId ? ` --tenant ${tenantId}` : ''}\`, then run this again (or leave out --use-azure-cli to sign in with a device code)`);
        }
        throw new SetupError(`the Azure CLI gave no token: ${message.split('\n')[0]}`);
      }
    },
  };
}
