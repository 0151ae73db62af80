// The Entra credential this service uses for what it reaches without a secret (ACS, the
// database): a managed identity or workload identity named by its client id.
import { createRequire } from 'node:module';
import type { TokenCredential } from '@azure/identity';

/**
 * With `clientId`, that identity exactly: DefaultAzureCredential would prefer AZURE_CLIENT_ID
 * and AZURE_CLIENT_SECRET, which are this service's own app registration (set for Teams).
 */
export function entraCredential(clientId: string | undefined): TokenCredential {
  // Loaded only here: a service without an Entra credential never loads @azure/identity (nor MSAL under it).
  const { DefaultAzureCredential, ManagedIdentityCredential, WorkloadIdentityCredential } = createRequire(import.meta.url)('@azure/identity') as typeof import('@azure/identity');
  if (!clientId) return new DefaultAzureCredential();
  // Kubernetes workload identity projects a token file (AZURE_FEDERATED_TOKEN_FILE; the tenant
  // is AZURE_TENANT_ID); elsewhere (App Service, Container Apps, VMs) a user-assigned managed identity.
  return process.env.AZURE_FEDERATED_TOKEN_FILE
    ? new WorkloadIdentityCredential({ clientId })
    : new ManagedIdentityCredential({ clientId });
}
