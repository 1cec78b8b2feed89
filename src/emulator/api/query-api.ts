/**
 * The emulator's AWS Query endpoint (issue #19): RDS (DescribeDBInstances, DescribeDBClusters)
 * and ElastiCache (DescribeReplicationGroups, DescribeServerlessCaches), as the SDK clients send
 * them: `POST /` with a form-encoded body (`Action`, `Version`, members), SigV4 with signing name
 * `rds` or `elasticache`, and XML answers `<ActionResponse><ActionResult>…` with
 * `<ResponseMetadata><RequestId>`. Errors are `<ErrorResponse><Error><Type/><Code/><Message/>`.
 * Listings page with `Marker` / `NextToken` (the position, as text) and `MaxRecords`/`MaxResults`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ResolvedCache, ResolvedRdsCluster, ResolvedRdsInstance } from '../databases.js';
import { EMULATOR_ACCOUNT_ID } from '../options.js';
import { verifySigV4 } from '../sigv4.js';
import type { EmulatorState } from '../state.js';
import { AwsFault, checkAccess, readBody } from './wire.js';

type Params = URLSearchParams;

interface QueryOp {
  service: 'rds' | 'elasticache';
  /** Returns the inner XML of `<ActionResult>`. */
  run(state: EmulatorState, p: Params): string;
}

const NAMESPACE: Record<QueryOp['service'], string> = {
  rds: 'http://rds.amazonaws.com/doc/2014-10-31/',
  elasticache: 'http://elasticache.amazonaws.com/doc/2015-02-02/',
};

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `<tag>value</tag>`, or nothing for undefined. */
function el(tag: string, value: string | number | boolean | undefined): string {
  return value === undefined ? '' : `<${tag}>${esc(String(value))}</${tag}>`;
}

/** A page of `items` from `marker` (the index as text), `max` (the client's, capped by the emulator's). */
function page<T>(
  state: EmulatorState,
  items: T[],
  marker: string | null,
  max: string | null,
): { items: T[]; next?: string } {
  const start = marker === null ? 0 : Number(marker);
  if (!Number.isInteger(start) || start < 0 || start > items.length)
    throw new AwsFault('InvalidParameterValue', `Invalid marker: ${marker ?? ''}`);
  const requested = max === null ? 100 : Number(max);
  if (!Number.isInteger(requested) || requested < 1 || requested > 100)
    throw new AwsFault('InvalidParameterValue', `Invalid max records: ${max ?? ''} (1..100)`);
  const size = Math.min(requested, state.options.databases.pageSize);
  const slice = items.slice(start, start + size);
  const end = start + slice.length;
  return end < items.length ? { items: slice, next: String(end) } : { items: slice };
}

function rdsInstanceXml(state: EmulatorState, i: ResolvedRdsInstance): string {
  const region = state.options.region;
  return `<DBInstance>${el('DBInstanceIdentifier', i.id)}${el('DBInstanceClass', 'db.t4g.micro')}${el('Engine', i.engine)}${el('DBInstanceStatus', i.status)}<Endpoint>${el('Address', i.host)}${el('Port', i.port)}${el('HostedZoneId', 'Z2R2ITUGPM61AM')}</Endpoint>${el('DBClusterIdentifier', i.cluster)}${el('IAMDatabaseAuthenticationEnabled', i.iamAuth)}${el('DBInstanceArn', `arn:aws:rds:${region}:${EMULATOR_ACCOUNT_ID}:db:${i.id}`)}</DBInstance>`;
}

function rdsClusterXml(state: EmulatorState, c: ResolvedRdsCluster): string {
  const region = state.options.region;
  const members = state.options.databases.rdsInstances
    .filter((i) => i.cluster === c.id)
    .map(
      (i, n) =>
        `<DBClusterMember>${el('DBInstanceIdentifier', i.id)}${el('IsClusterWriter', n === 0)}</DBClusterMember>`,
    )
    .join('');
  return `<DBCluster>${el('DBClusterIdentifier', c.id)}${el('Engine', c.engine)}${el('Status', c.status)}${el('Endpoint', c.host)}${el('ReaderEndpoint', c.readerHost)}${el('Port', c.port)}${el('IAMDatabaseAuthenticationEnabled', c.iamAuth)}${el('DBClusterArn', `arn:aws:rds:${region}:${EMULATOR_ACCOUNT_ID}:cluster:${c.id}`)}<DBClusterMembers>${members}</DBClusterMembers></DBCluster>`;
}

function endpointXml(tag: string, host: string | undefined, port: number): string {
  return host === undefined ? '' : `<${tag}>${el('Address', host)}${el('Port', port)}</${tag}>`;
}

function groupXml(g: ResolvedCache): string {
  const nodeGroup = g.clusterMode
    ? ''
    : `<NodeGroups><NodeGroup>${el('NodeGroupId', '0001')}${el('Status', g.status)}${endpointXml('PrimaryEndpoint', g.host, g.port)}${endpointXml('ReaderEndpoint', g.readerHost, g.port)}</NodeGroup></NodeGroups>`;
  return `<ReplicationGroup>${el('ReplicationGroupId', g.id)}${el('Description', g.id)}${el('Status', g.status)}${nodeGroup}${g.clusterMode ? endpointXml('ConfigurationEndpoint', g.host, g.port) : ''}${el('ClusterEnabled', g.clusterMode)}${el('Engine', g.engine)}</ReplicationGroup>`;
}

function serverlessXml(s: ResolvedCache): string {
  return `<member>${el('ServerlessCacheName', s.id)}${el('Engine', s.engine)}${el('Status', s.status)}${endpointXml('Endpoint', s.host, s.port)}${endpointXml('ReaderEndpoint', s.readerHost, s.port)}</member>`;
}

function byId<T extends { id: string }>(items: T[], id: string | null): T[] {
  return id === null ? items : items.filter((x) => x.id.toLowerCase() === id.toLowerCase());
}

const QUERY_OPERATIONS: ReadonlyMap<string, QueryOp> = new Map<string, QueryOp>([
  [
    'DescribeDBInstances',
    {
      service: 'rds',
      run(state, p) {
        checkAccess(state, 'rds:DescribeDBInstances', '*');
        const id = p.get('DBInstanceIdentifier');
        const found = byId(state.options.databases.rdsInstances, id);
        if (id !== null && found.length === 0)
          throw new AwsFault('DBInstanceNotFound', `DBInstance ${id} not found.`, 404);
        const pg = page(state, found, p.get('Marker'), p.get('MaxRecords'));
        return `<DBInstances>${pg.items.map((i) => rdsInstanceXml(state, i)).join('')}</DBInstances>${el('Marker', pg.next)}`;
      },
    },
  ],
  [
    'DescribeDBClusters',
    {
      service: 'rds',
      run(state, p) {
        checkAccess(state, 'rds:DescribeDBClusters', '*');
        const id = p.get('DBClusterIdentifier');
        const found = byId(state.options.databases.rdsClusters, id);
        if (id !== null && found.length === 0)
          throw new AwsFault('DBClusterNotFoundFault', `DBCluster ${id} not found.`, 404);
        const pg = page(state, found, p.get('Marker'), p.get('MaxRecords'));
        return `<DBClusters>${pg.items.map((c) => rdsClusterXml(state, c)).join('')}</DBClusters>${el('Marker', pg.next)}`;
      },
    },
  ],
  [
    'DescribeReplicationGroups',
    {
      service: 'elasticache',
      run(state, p) {
        checkAccess(state, 'elasticache:DescribeReplicationGroups', '*');
        const id = p.get('ReplicationGroupId');
        const groups = state.options.databases.caches.filter((c) => c.kind === 'replication-group');
        const found = byId(groups, id);
        if (id !== null && found.length === 0)
          throw new AwsFault('ReplicationGroupNotFoundFault', `ReplicationGroup ${id} not found.`, 404);
        const pg = page(state, found, p.get('Marker'), p.get('MaxRecords'));
        return `<ReplicationGroups>${pg.items.map(groupXml).join('')}</ReplicationGroups>${el('Marker', pg.next)}`;
      },
    },
  ],
  [
    'DescribeServerlessCaches',
    {
      service: 'elasticache',
      run(state, p) {
        checkAccess(state, 'elasticache:DescribeServerlessCaches', '*');
        const name = p.get('ServerlessCacheName');
        const caches = state.options.databases.caches.filter((c) => c.kind === 'serverless');
        const found = byId(caches, name);
        if (name !== null && found.length === 0)
          throw new AwsFault('ServerlessCacheNotFoundFault', `Serverless cache ${name} not found.`, 404);
        const pg = page(state, found, p.get('NextToken'), p.get('MaxResults'));
        return `<ServerlessCaches>${pg.items.map(serverlessXml).join('')}</ServerlessCaches>${el('NextToken', pg.next)}`;
      },
    },
  ],
]);

/** True for requests this endpoint serves: form-encoded bodies (the AWS Query protocol). */
export function isQueryRequest(req: IncomingMessage): boolean {
  return (req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

/** A query-protocol request signed for RDS or ElastiCache (STS shares the protocol and the port). */
export function isDatabaseQueryRequest(req: IncomingMessage): boolean {
  const service = scopeService(req);
  return isQueryRequest(req) && (service === 'rds' || service === 'elasticache');
}

function send(state: EmulatorState, res: ServerResponse, status: number, requestId: string, xml: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/xml');
  res.setHeader('x-amzn-RequestId', requestId);
  res.setHeader('Date', new Date(state.options.clock.wallNow()).toUTCString());
  res.setHeader('Content-Length', Buffer.byteLength(xml));
  res.end(xml);
}

/** The scope's service from `Authorization: … Credential=AKID/date/region/SERVICE/aws4_request`. */
function scopeService(req: IncomingMessage): string | undefined {
  const auth = req.headers['authorization'];
  return typeof auth === 'string' ? /Credential=[^/]+\/[^/]+\/[^/]+\/([^/]+)\//.exec(auth)?.[1] : undefined;
}

async function handle(state: EmulatorState, req: IncomingMessage, res: ServerResponse, requestId: string) {
  const at = state.options.clock.wallNow();
  let action = '';
  let service: QueryOp['service'] = scopeService(req) === 'elasticache' ? 'elasticache' : 'rds';
  try {
    const body = await readBody(req);
    const params = new URLSearchParams(body.toString('utf8'));
    action = params.get('Action') ?? '';
    const op = QUERY_OPERATIONS.get(action);
    if (op !== undefined) service = op.service;
    const failure = await verifySigV4(
      { method: req.method ?? 'GET', url: req.url ?? '/', headers: req.headers, body },
      { credentials: state.options.credentials, region: state.options.region, service, nowMs: at },
    );
    // The Query services name these faults without the `Exception` suffix.
    if (failure) throw new AwsFault(failure.code.replace(/Exception$/, ''), failure.message, 403);
    if (op === undefined)
      throw new AwsFault('InvalidAction', `The action ${action || '(none)'} is not valid for this web service.`);
    const inner = op.run(state, params);
    state.recordCall({ operation: `${service}:${action}`, at, request: Object.fromEntries(params) });
    send(
      state,
      res,
      200,
      requestId,
      `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NAMESPACE[service]}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>${requestId}</RequestId></ResponseMetadata></${action}Response>`,
    );
  } catch (e) {
    const fault = e instanceof AwsFault ? e : new AwsFault('InternalFailure', 'An internal error occurred.', 500);
    state.recordCall({ operation: `${service}:${action || '(none)'}`, at, request: undefined, errorCode: fault.code });
    const type = fault.status >= 500 ? 'Receiver' : 'Sender';
    send(
      state,
      res,
      fault.status,
      requestId,
      `<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse xmlns="${NAMESPACE[service]}"><Error><Type>${type}</Type><Code>${esc(fault.code)}</Code><Message>${esc(fault.message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`,
    );
  }
}

export function createQueryApiHandler(state: EmulatorState): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => void handle(state, req, res, state.newRequestId());
}
