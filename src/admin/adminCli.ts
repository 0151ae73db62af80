// `npm run admin -- <command>`: administrators' work on the database and ACS directly, with the
// service's configuration (the environment, or .env in the folder it runs in), so it works while
// the HTTP service is down. The same code as the admin API's (AdminDeletion): deletions go the
// way DELETE /api/user goes, each with an erasure receipt naming --requested-by, paced by
// ADMIN_ACS_CALLS_PER_SECOND. Exit codes: 0 done; 1 not all done (an ACS failure, a deletion
// left queued, the database or a setting); 2 a usage error (nothing done).
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AcsIdentityClient } from '../acs/acsIdentityClient.js';
import { AuditTrail } from '../audit/auditTrail.js';
import { entraCaller, type EntraCaller } from '../auth/caller.js';
import { ConfigError, loadConfig } from '../config/index.js';
import { IdentityStore } from '../db/identityStore.js';
import { createPool } from '../db/pool.js';
import { LOCAL_ACS_RESOURCE } from '../db/resources.js';
import { AdminDeletion, type AdminCollaborators } from './adminDeletion.js';
import { AdminPacer } from './adminPacing.js';
import { entraId, TenantOffboardings, userHasher, type OffboardingStatus } from './tenantOffboarding.js';

const USAGE = `Usage: npm run admin -- <command> [options]

Commands:
  delete --tenant T --oid O --requested-by WHO        delete one user's ACS identity and mapping
  delete --from-file FILE --requested-by WHO          delete each user listed in FILE
  revoke --tenant T --oid O --requested-by WHO        revoke one user's ACS tokens
  revoke --from-file FILE --requested-by WHO          revoke the tokens of each user listed in FILE
  offboard-tenant --tenant T --requested-by WHO       delete every identity of tenant T (resumes its job)
  status [--tenant T] [--job ID]                      tenant offboardings: under way first, then the latest

FILE: one user per line as "tenant,oid" (Entra tenant and object ids); blank lines and lines
starting with # are skipped. --requested-by names who asked (an operator, a ticket); it is
recorded with the work. Exit codes: 0 done, 1 not all done, 2 usage error.
`;

const EXIT_FAILED = 1;
const EXIT_USAGE = 2;

class UsageError extends Error {}

const out = (line: string) => { process.stdout.write(`${line}\n`); };
const err = (line: string) => { process.stderr.write(`${line}\n`); };

interface Options {
  tenant?: string;
  oid?: string;
  'from-file'?: string;
  'requested-by'?: string;
  job?: string;
  help?: boolean;
}

function parse(argv: string[]): { command: string; options: Options } {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        tenant: { type: 'string' }, oid: { type: 'string' }, 'from-file': { type: 'string' },
        'requested-by': { type: 'string' }, job: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const [command, ...extra] = parsed.positionals;
  if (parsed.values.help) return { command: 'help', options: parsed.values };
  if (!command) throw new UsageError('no command given');
  if (extra.length > 0) throw new UsageError(`unexpected argument ${extra.join(' ')}`);
  return { command, options: parsed.values };
}

function requestedBy(options: Options): string {
  const who = options['requested-by']?.trim();
  if (!who) throw new UsageError('--requested-by is required: name who asked for this (an operator, a ticket)');
  if (who.length > 200) throw new UsageError('--requested-by is longer than 200 characters');
  // eslint-disable-next-line no-control-regex -- control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(who)) throw new UsageError('--requested-by has a control character');
  return who;
}

function tenantOption(options: Options): string {
  if (options.tenant === undefined) throw new UsageError('--tenant is required');
  const tenant = entraId(options.tenant);
  if (!tenant) throw new UsageError(`--tenant "${options.tenant}" is not a tenant id (a GUID)`);
  return tenant;
}

/** The users a delete or revoke acts on: --tenant and --oid, or each line of --from-file. */
function targets(options: Options): EntraCaller[] {
  const file = options['from-file'];
  if (file !== undefined) {
    if (options.tenant !== undefined || options.oid !== undefined) throw new UsageError('give either --from-file or --tenant and --oid, not both');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${file}: ${(error as Error).message}`);
    }
    const users: EntraCaller[] = [];
    const problems: string[] = [];
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const [tenant, oid, ...rest] = line.split(',').map((part) => part.trim());
      const tenantId = entraId(tenant ?? '');
      const objectId = entraId(oid ?? '');
      if (!tenantId || !objectId || rest.length > 0) problems.push(`${file}:${index + 1}: expected "tenant,oid" (two GUIDs), found "${line}"`);
      else users.push(entraCaller(tenantId, objectId));
    });
    if (problems.length > 0) throw new UsageError(problems.slice(0, 10).join('\n') + (problems.length > 10 ? `\n… and ${problems.length - 10} more` : ''));
    if (users.length === 0) throw new UsageError(`${file} lists no user`);
    return users;
  }
  const tenantId = tenantOption(options);
  if (options.oid === undefined) throw new UsageError('--oid is required (or --from-file)');
  const objectId = entraId(options.oid);
  if (!objectId) throw new UsageError(`--oid "${options.oid}" is not an object id (a GUID)`);
  return [entraCaller(tenantId, objectId)];
}

/** Everything the commands work with, from the service's configuration. */
function collaborators(): AdminCollaborators & { close(): Promise<void> } {
  if (existsSync('.env')) process.loadEnvFile('.env');
  const config = loadConfig();
  const pool = createPool({
    connectionString: config.databaseUrl, auth: config.databaseAuth, max: Math.min(2, config.databasePoolMax), timeoutMs: config.databaseTimeoutMs,
    idleInTransactionTimeoutMs: config.acs.requestTimeoutMs + config.databaseTimeoutMs, singleSession: config.databaseSingleSession,
  });
  const scope = { resource: config.acs.resource, adoptUnknown: config.acs.resource !== LOCAL_ACS_RESOURCE };
  const log = {
    info: () => undefined,
    warn: (_details: object, message: string) => { err(`warning: ${message}`); },
    error: (details: object, message: string) => { err(`error: ${message}${'err' in details && details.err instanceof Error ? `: ${details.err.message}` : ''}`); },
  };
  const audit = new AuditTrail(pool, (error) => { err(`warning: audit events not written yet: ${(error as Error).message}`); },
    (count) => { err(`error: ${count} audit events dropped`); });
  return {
    pool, scope, log, audit,
    store: new IdentityStore(pool, scope),
    acs: new AcsIdentityClient(config.acs),
    hashUser: userHasher(config.audit.hashKey),
    pacer: new AdminPacer(config.adminPacing.acsCallsPerSecond),
    deletions: config.deletions,
    close: async () => {
      await audit.flush();
      await pool.end();
    },
  };
}

const userOf = (user: EntraCaller) => `${user.tenantId},${user.objectId}`;

async function deleteUsers(admin: AdminDeletion, users: EntraCaller[], who: string): Promise<number> {
  let queued = 0;
  let failed = 0;
  for (const user of users) {
    // One user's failure (the database, ACS) does not stop the others: counted and said.
    let outcome;
    try {
      outcome = await admin.deleteUser(user, { requestedBy: who });
    } catch (error) {
      failed++;
      out(`${userOf(user)}: failed: ${(error as Error).message}`);
      continue;
    }
    if (outcome === 'queued') queued++;
    out(`${userOf(user)}: ${outcome === 'nothing_to_delete' ? 'no identity' : outcome === 'queued' ? 'mapping deleted; the ACS deletion failed and is queued (the service retries it)' : 'deleted'}`);
  }
  out(`${users.length} user(s): ${users.length - queued - failed} done${queued ? `, ${queued} ACS deletion(s) queued` : ''}${failed ? `, ${failed} failed` : ''}.`);
  return queued + failed > 0 ? EXIT_FAILED : 0;
}

async function revokeUsers(admin: AdminDeletion, users: EntraCaller[], who: string): Promise<number> {
  let failed = 0;
  for (const user of users) {
    let revoked;
    try {
      revoked = await admin.revoke(who, { tenantId: user.tenantId, objectId: user.objectId });
    } catch (error) {
      failed++;
      out(`${userOf(user)}: failed: ${(error as Error).message}`);
      continue;
    }
    out(`${userOf(user)}: ${revoked ? 'revoked' : 'no identity'}`);
  }
  out(`${users.length} user(s): ${users.length - failed} done${failed ? `, ${failed} failed` : ''}.`);
  return failed > 0 ? EXIT_FAILED : 0;
}

const progressLine = (job: OffboardingStatus) => `${new Date().toISOString()} ${job.message}`;

async function offboard(use: AdminCollaborators, tenantId: string, who: string): Promise<number> {
  const offboardings = new TenantOffboardings(use, new AdminDeletion(use));
  const { job, created } = await offboardings.start(tenantId, who);
  if (!created && job.state === 'completed') {
    out(`Tenant ${tenantId} was offboarded already (job ${job.id}, requested by ${job.requestedBy}).`);
    out(job.message);
    return 0;
  }
  out(created ? `Started offboarding job ${job.id} for tenant ${tenantId}: ${job.total} identities.`
    : `Resuming offboarding job ${job.id} for tenant ${tenantId} (requested by ${job.requestedBy}): ${job.deleted} of ${job.total} deleted so far.`);
  // Ctrl-C: the batch under way finishes and is recorded; running the command again resumes.
  const stop = new AbortController();
  process.once('SIGINT', () => { err('Stopping after the batch under way…'); stop.abort(); });
  process.once('SIGTERM', () => stop.abort());
  const end = await offboardings.run(job.id, {
    signal: stop.signal,
    onProgress: (status) => out(progressLine(status)),
    onWaiting: () => out(`Another worker (the service, or another run of this command) runs job ${job.id}: waiting for it to finish, or to stop and leave the job here.`),
  });
  if (end.state === 'completed') {
    out(end.message);
    return 0;
  }
  out(`Stopped: ${end.message} Run the same command again to resume job ${end.id}.`);
  return EXIT_FAILED;
}

async function status(use: AdminCollaborators, options: Options): Promise<number> {
  const offboardings = new TenantOffboardings(use, new AdminDeletion(use));
  if (options.job !== undefined) {
    const job = await offboardings.status(options.job);
    if (!job) {
      err(`No offboarding job ${options.job}.`);
      return EXIT_FAILED;
    }
    out(`${job.id} ${job.state} requested by ${job.requestedBy} at ${job.createdAt.toISOString()}: ${job.message}`);
    return 0;
  }
  const jobs = await offboardings.list(options.tenant === undefined ? undefined : tenantOption(options));
  if (jobs.length === 0) out('No tenant offboarding.');
  for (const job of jobs) out(`${job.id} ${job.state} requested by ${job.requestedBy} at ${job.createdAt.toISOString()}: ${job.message}`);
  return 0;
}

type Command = (use: AdminCollaborators) => Promise<number>;

/** The command to run, its arguments checked before anything connects. */
function commandOf(command: string, options: Options): Command {
  switch (command) {
    case 'delete': {
      const who = requestedBy(options);
      const users = targets(options);
      return (use) => deleteUsers(new AdminDeletion(use), users, who);
    }
    case 'revoke': {
      const who = requestedBy(options);
      const users = targets(options);
      return (use) => revokeUsers(new AdminDeletion(use), users, who);
    }
    case 'offboard-tenant': {
      const who = requestedBy(options);
      const tenantId = tenantOption(options);
      if (options.oid !== undefined || options['from-file'] !== undefined) throw new UsageError('offboard-tenant takes --tenant only, not --oid or --from-file');
      return (use) => offboard(use, tenantId, who);
    }
    case 'status':
      if (options.tenant !== undefined) tenantOption(options);
      return (use) => status(use, options);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function main(argv: string[]): Promise<number> {
  let command: Command;
  try {
    const parsed = parse(argv);
    if (parsed.command === 'help') {
      out(USAGE);
      return 0;
    }
    command = commandOf(parsed.command, parsed.options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    err(`${error.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  let use: ReturnType<typeof collaborators>;
  try {
    use = collaborators();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    err(`${error.message}\nSee .env.example: the admin commands use the service's settings.`);
    return EXIT_FAILED;
  }
  try {
    return await command(use);
  } catch (error) {
    err(`Failed: ${(error as Error).message}`);
    return EXIT_FAILED;
  } finally {
    await use.close().catch((error: unknown) => err(`warning: ${(error as Error).message}`));
  }
}

process.exitCode = await main(process.argv.slice(2));
