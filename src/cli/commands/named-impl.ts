/**
 * Issue #19 commands: `tunnel targets --rds/--cache/--ecs CLUSTER` (what can be reached by name)
 * and `tunnel token NAME` (an RDS IAM auth token for a forward's real endpoint).
 */
import { UsageError } from '../../errors.js';
import { selectForwards, specsFromWords } from '../../config/resolve.js';
import { awsSettingsFor } from '../aws-settings.js';
import { loadFor } from '../context.js';
import type { CliIo } from '../io.js';
import { namedApis, resolveNamedSpecs } from '../named.js';
import type { GlobalArgs } from '../options.js';
import { table } from '../output/format.js';

function json(io: CliIo, value: Record<string, unknown>): void {
  io.stdout.write(`${JSON.stringify({ time: new Date(io.clock.wallNow()).toISOString(), ...value })}\n`);
}

export interface NamedTargetsOptions {
  rds: boolean;
  cache: boolean;
  ecs: string | undefined;
}

export async function namedTargets(io: CliIo, args: GlobalArgs, o: NamedTargetsOptions): Promise<number> {
  const { config } = await loadFor(io, args);
  const apis = namedApis(await awsSettingsFor(io, config));
  const rows: string[][] = [];
  const emit = (type: string, row: Record<string, string | number | boolean | null>, text: string[]): void => {
    if (args.json) json(io, { type, ...row });
    else rows.push(text);
  };
  if (o.rds) {
    const rds = await apis.rds();
    const [clusters, instances] = await Promise.all([rds.describeDbClusters(), rds.describeDbInstances()]);
    for (const c of clusters) {
      const base = { name: c.id, kind: 'aurora-cluster', engine: c.engine ?? null, port: c.port ?? null };
      emit('rds', { ...base, endpoint: c.host ?? null, iamAuth: c.iamAuth }, [
        `rds:${c.id}`,
        c.engine ?? '-',
        `${c.host ?? '-'}`,
        String(c.port ?? '-'),
        `cluster${c.iamAuth ? ', iam' : ''}`,
      ]);
      if (c.readerHost !== undefined)
        emit('rds', { ...base, name: `${c.id}/reader`, endpoint: c.readerHost, iamAuth: c.iamAuth }, [
          `rds:${c.id}/reader`,
          c.engine ?? '-',
          c.readerHost,
          String(c.port ?? '-'),
          'reader',
        ]);
    }
    for (const i of instances)
      emit(
        'rds',
        {
          name: i.id,
          kind: 'db-instance',
          engine: i.engine ?? null,
          endpoint: i.host ?? null,
          port: i.port ?? null,
          iamAuth: i.iamAuth,
          cluster: i.clusterId ?? null,
        },
        [
          `rds:${i.id}`,
          i.engine ?? '-',
          i.host ?? '-',
          String(i.port ?? '-'),
          `${i.clusterId === undefined ? 'instance' : `instance of ${i.clusterId}`}${i.iamAuth ? ', iam' : ''}`,
        ],
      );
  }
  if (o.cache) {
    const cache = await apis.cache();
    const [groups, serverless] = await Promise.all([
      cache.describeReplicationGroups(),
      cache.describeServerlessCaches(),
    ]);
    for (const c of [...groups, ...serverless]) {
      emit(
        'cache',
        { name: c.id, kind: c.kind, engine: c.engine ?? null, endpoint: c.host ?? null, port: c.port ?? null },
        [`cache:${c.id}`, c.engine ?? '-', c.host ?? '-', String(c.port ?? '-'), c.kind],
      );
      if (c.readerHost !== undefined && c.readerHost !== c.host)
        emit(
          'cache',
          {
            name: `${c.id}/reader`,
            kind: c.kind,
            engine: c.engine ?? null,
            endpoint: c.readerHost,
            port: c.readerPort ?? c.port ?? null,
          },
          [`cache:${c.id}/reader`, c.engine ?? '-', c.readerHost, String(c.readerPort ?? c.port ?? '-'), 'reader'],
        );
    }
  }
  if (o.ecs !== undefined) {
    const cluster = o.ecs;
    const ecs = await apis.ecs();
    const ids = await ecs.listTasks(cluster);
    const tasks = ids.length === 0 ? [] : await ecs.describeTasks(cluster, ids);
    for (const t of tasks) {
      const service = t.group?.startsWith('service:') === true ? t.group.slice(8) : undefined;
      for (const c of t.containers) {
        const target = c.runtimeId === undefined ? null : `ecs:${cluster}_${t.taskId}_${c.runtimeId}`;
        emit(
          'ecs',
          {
            cluster,
            task: t.taskId,
            service: service ?? null,
            container: c.name,
            status: t.lastStatus ?? null,
            exec: t.enableExecuteCommand,
            target,
          },
          [
            `ecs:${cluster}/${t.taskId}/${c.name}`,
            service ?? '-',
            t.lastStatus ?? '-',
            t.enableExecuteCommand ? (c.execAgentStatus ?? 'exec') : 'no exec',
            target ?? '-',
          ],
        );
      }
    }
  }
  if (!args.json) {
    const header =
      o.ecs !== undefined && !o.rds && !o.cache
        ? ['TARGET', 'SERVICE', 'STATUS', 'EXEC', 'SESSION TARGET']
        : ['NAME', 'ENGINE', 'ENDPOINT', 'PORT', 'KIND'];
    if (rows.length > 0) io.stdout.write(`${table([header, ...rows]).join('\n')}\n`);
    else if (!args.quiet) io.stderr.write('nothing found\n');
  }
  return 0;
}

/** `tunnel token NAME|SPEC [--user U]`: the token on stdout, nothing else. */
export async function token(io: CliIo, args: GlobalArgs, word: string, user: string | undefined): Promise<number> {
  const { config } = await loadFor(io, args);
  const specs =
    config.forwards[word] !== undefined || config.groups[word] !== undefined
      ? selectForwards(config, [word])
      : specsFromWords(config, [word]);
  const spec = specs[0];
  if (spec === undefined || specs.length !== 1)
    throw new UsageError(`tunnel token takes one forward (${word} is ${specs.length} forwards)`);
  const aws = await awsSettingsFor(io, config);
  const resolved = (await resolveNamedSpecs(namedApis(aws), [spec], { bind: false })).specs[0] ?? spec;
  const host = resolved.remoteHost;
  if (host === undefined)
    throw new UsageError(
      `${spec.name} has no database host: IAM tokens are for rds: forwards (or forwards with host:)`,
    );
  const dbUser = user ?? resolved.dbUser;
  if (dbUser === undefined)
    throw new UsageError(`which database user? give --user NAME, or user: in forwards.${spec.name}`);
  const { rdsAuthToken } = await import('../../aws/rds-token.js');
  const t = await rdsAuthToken(aws, { hostname: host, port: resolved.remotePort, user: dbUser });
  if (args.json)
    json(io, { type: 'token', forward: spec.name, host, port: resolved.remotePort, user: dbUser, token: t });
  else io.stdout.write(`${t}\n`);
  return 0;
}
