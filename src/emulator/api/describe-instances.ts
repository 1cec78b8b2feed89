/**
 * `AmazonSSM.DescribeInstanceInformation` and `AmazonSSM.ListTagsForResource`.
 *
 * Filters follow the service: `Filters` ([{Key, Values}]) with the tag keys `tag:<K>` and
 * `tag-key`, or the legacy `InstanceInformationFilterList` ([{key, valueSet}], lower-case
 * members, no tags); separate filters are AND-ed, values within one filter OR-ed. Pages hold
 * `MaxResults` (5..50, default 10) items and continue with an opaque `NextToken`. Like the real
 * API the response carries no tags: clients that want them call ListTagsForResource.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_AGENT_VERSION, type ResolvedInstanceSettings } from '../options.js';
import type { CallContext, EmulatorState } from '../state.js';
import { AwsFault, isRecord, optionalString, requireString, validationError, type JsonObject } from './wire.js';

const FILTER_KEYS = new Set([
  'InstanceIds',
  'AgentVersion',
  'PingStatus',
  'PlatformTypes',
  'ActivationIds',
  'IamRole',
  'ResourceType',
  'AssociationStatus',
  'SourceIds',
  'SourceTypes',
]);
const LEGACY_FILTER_KEYS = new Set([
  'InstanceIds',
  'AgentVersion',
  'PingStatus',
  'PlatformTypes',
  'ActivationIds',
  'IamRole',
  'ResourceType',
  'AssociationStatus',
]);
const ENUM_VALUES: Record<string, readonly string[]> = {
  PingStatus: ['Online', 'ConnectionLost', 'Inactive'],
  PlatformTypes: ['Windows', 'Linux', 'MacOS'],
  ResourceType: ['EC2Instance', 'ManagedInstance'],
  SourceTypes: ['AWS::EC2::Instance', 'AWS::IoT::Thing', 'AWS::SSM::ManagedInstance'],
};

interface Filter {
  key: string;
  values: string[];
}

/** The IAM role a hybrid (mi-) node registers with; EC2 nodes report none. */
const MANAGED_INSTANCE_ROLE = 'SSMServiceRole';

function sourceType(i: ResolvedInstanceSettings): string {
  return i.resourceType === 'ManagedInstance' ? 'AWS::SSM::ManagedInstance' : 'AWS::EC2::Instance';
}

function readFilters(body: JsonObject): Filter[] {
  const modern = body['Filters'];
  const legacy = body['InstanceInformationFilterList'];
  if (modern !== undefined && modern !== null && legacy !== undefined && legacy !== null) {
    throw new AwsFault('InvalidFilterKey', 'Filters and InstanceInformationFilterList cannot be used together.');
  }
  const out: Filter[] = [];
  const list = modern ?? legacy;
  if (list === undefined || list === null) return out;
  if (!Array.isArray(list)) throw new AwsFault('SerializationException', 'Expected a list of filters.');
  const isLegacy = modern === undefined || modern === null;
  const [keyField, valuesField] = isLegacy ? ['key', 'valueSet'] : ['Key', 'Values'];
  const member = isLegacy ? 'instanceInformationFilterList' : 'filters';
  list.forEach((f: unknown, i) => {
    if (!isRecord(f)) throw new AwsFault('SerializationException', 'Expected a filter structure.');
    const key = f[keyField];
    const values = f[valuesField];
    if (typeof key !== 'string')
      throw validationError(`${member}.${i + 1}.member.${keyField}`, key, 'Member must not be null');
    if (!Array.isArray(values) || values.some((v) => typeof v !== 'string')) {
      throw validationError(`${member}.${i + 1}.member.${valuesField}`, values, 'Member must not be null');
    }
    if (values.length < 1)
      throw validationError(
        `${member}.${i + 1}.member.${valuesField}`,
        values,
        'Member must have length greater than or equal to 1',
      );
    const isTag = key.startsWith('tag:') || key === 'tag-key';
    const known = isLegacy ? LEGACY_FILTER_KEYS.has(key) : FILTER_KEYS.has(key) || (isTag && key !== 'tag:');
    if (!known) throw new AwsFault('InvalidFilterKey', `The specified filter key ${key} is not valid.`);
    const allowed = ENUM_VALUES[key];
    for (const v of values as string[]) {
      if (allowed && !allowed.includes(v)) {
        throw new AwsFault(
          'InvalidInstanceInformationFilterValue',
          `The filter value ${v} is not valid for the filter key ${key}.`,
        );
      }
    }
    out.push({ key, values: values as string[] });
  });
  return out;
}

function matches(i: ResolvedInstanceSettings, f: Filter): boolean {
  const any = (v: string | undefined): boolean => v !== undefined && f.values.includes(v);
  // Own keys only: a filter on tag `constructor` must not match Object.prototype.
  const tag = (k: string): string | undefined => (Object.hasOwn(i.tags, k) ? i.tags[k] : undefined);
  if (f.key === 'tag-key') return f.values.some((k) => tag(k) !== undefined);
  if (f.key.startsWith('tag:')) return any(tag(f.key.slice(4)));
  switch (f.key) {
    case 'InstanceIds':
    case 'SourceIds':
      return any(i.instanceId);
    case 'AgentVersion':
      return any(i.agentVersion);
    case 'PingStatus':
      return any(i.pingStatus);
    case 'PlatformTypes':
      return any(i.platformType);
    case 'ResourceType':
      return any(i.resourceType);
    case 'SourceTypes':
      return any(sourceType(i));
    case 'IamRole':
      return i.resourceType === 'ManagedInstance' && any(MANAGED_INSTANCE_ROLE);
    default:
      // ActivationIds, AssociationStatus: emulated nodes have no activation and no associations.
      return false;
  }
}

function versionParts(v: string): number[] {
  return v.split('.').map((p) => Number(p) || 0);
}

function isAtLeast(a: string, b: string): boolean {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let k = 0; k < Math.max(x.length, y.length); k++) {
    const d = (x[k] ?? 0) - (y[k] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}

/** One InstanceInformation element. Timestamps are epoch seconds; no tags. */
function describe(state: EmulatorState, i: ResolvedInstanceSettings): JsonObject {
  const nowS = state.options.clock.wallNow() / 1000;
  // A node that stopped pinging did so a while ago: ConnectionLost after ~10 min, Inactive after 30 days.
  const lastPing =
    i.pingStatus === 'Online' ? nowS : i.pingStatus === 'ConnectionLost' ? nowS - 600 : nowS - 30 * 86400;
  const out: JsonObject = {
    InstanceId: i.instanceId,
    PingStatus: i.pingStatus,
    LastPingDateTime: Math.floor(lastPing),
    AgentVersion: i.agentVersion,
    IsLatestVersion: isAtLeast(i.agentVersion, DEFAULT_AGENT_VERSION),
    PlatformType: i.platformType,
    PlatformName: i.platformName,
    PlatformVersion: i.platformVersion,
    ResourceType: i.resourceType,
    IPAddress: i.ipAddress,
    ComputerName: i.computerName,
    SourceId: i.instanceId,
    SourceType: sourceType(i),
  };
  if (i.resourceType === 'ManagedInstance') {
    // Hybrid nodes carry their registration name, role and date; EC2 nodes report none of them.
    if (i.name !== undefined) out['Name'] = i.name;
    out['IamRole'] = MANAGED_INSTANCE_ROLE;
    out['RegistrationDate'] = Math.floor(state.createdAt / 1000);
  }
  return out;
}

interface PageToken {
  offset: number;
  /** Hash of the filters the first page was asked with; a token only continues that listing. */
  query: string;
}

function queryHash(filters: Filter[]): string {
  return createHash('sha256').update(JSON.stringify(filters)).digest('hex').slice(0, 16);
}

function encodeToken(t: PageToken): string {
  return Buffer.from(JSON.stringify({ o: t.offset, q: t.query })).toString('base64');
}

function decodeToken(s: string): PageToken {
  const invalid = new AwsFault('InvalidNextToken', "The specified token isn't valid.");
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(s, 'base64').toString('utf8'));
  } catch {
    throw invalid;
  }
  if (
    !isRecord(v) ||
    typeof v['o'] !== 'number' ||
    !Number.isInteger(v['o']) ||
    v['o'] < 0 ||
    typeof v['q'] !== 'string'
  )
    throw invalid;
  return { offset: v['o'], query: v['q'] };
}

export function describeInstanceInformation(state: EmulatorState, body: JsonObject, ctx?: CallContext): JsonObject {
  const rawMax = body['MaxResults'];
  let max = 10;
  if (rawMax !== undefined && rawMax !== null) {
    if (typeof rawMax !== 'number' || !Number.isInteger(rawMax))
      throw new AwsFault('SerializationException', 'Expected an integer for MaxResults.');
    if (rawMax < 5)
      throw validationError('maxResults', String(rawMax), 'Member must have value greater than or equal to 5');
    if (rawMax > 50)
      throw validationError('maxResults', String(rawMax), 'Member must have value less than or equal to 50');
    max = rawMax;
  }
  const filters = readFilters(body);
  const query = queryHash(filters);
  const nextToken = optionalString(body, 'NextToken');
  let offset = 0;
  if (nextToken !== undefined) {
    const t = decodeToken(nextToken);
    if (t.query !== query) throw new AwsFault('InvalidNextToken', "The specified token isn't valid.");
    offset = t.offset;
  }
  const all = [...state.instances.values()]
    .filter((i) => state.visible(i, ctx) && filters.every((f) => matches(i, f)))
    .sort((a, b) => (a.instanceId < b.instanceId ? -1 : a.instanceId > b.instanceId ? 1 : 0));
  const page = all.slice(offset, offset + max);
  const out: JsonObject = { InstanceInformationList: page.map((i) => describe(state, i)) };
  if (offset + max < all.length) out['NextToken'] = encodeToken({ offset: offset + max, query });
  return out;
}

/** ListTagsForResource for managed nodes (ResourceType `ManagedInstance`, also given EC2 ids). */
export function listTagsForResource(state: EmulatorState, body: JsonObject, ctx?: CallContext): JsonObject {
  const resourceType = requireString(body, 'ResourceType', 'resourceType');
  const resourceId = requireString(body, 'ResourceId', 'resourceId');
  const known = [
    'Document',
    'ManagedInstance',
    'MaintenanceWindow',
    'Parameter',
    'PatchBaseline',
    'OpsItem',
    'OpsMetadata',
    'Automation',
    'Association',
  ];
  if (!known.includes(resourceType)) {
    throw validationError('resourceType', resourceType, `Member must satisfy enum value set: [${known.join(', ')}]`);
  }
  if (resourceType !== 'ManagedInstance')
    throw new AwsFault(
      'InvalidResourceType',
      'The resource type is not valid. For example, if you are attempting to tag an EC2 instance, the instance must be a registered managed node.',
    );
  const instance = state.instances.get(resourceId);
  if (!instance || !state.visible(instance, ctx))
    throw new AwsFault(
      'InvalidResourceId',
      "The resource ID isn't valid. Verify that you entered the correct ID and try again.",
    );
  const TagList = Object.keys(instance.tags)
    .sort()
    .map((Key) => ({ Key, Value: instance.tags[Key] ?? '' }));
  return { TagList };
}
