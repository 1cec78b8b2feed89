/**
 * The RDS and ElastiCache calls `tunnel` makes to find a database by name (issue #19):
 * DescribeDBInstances, DescribeDBClusters, DescribeReplicationGroups and DescribeServerlessCaches,
 * every page (bounded). Asking for one name that does not exist is an empty list, not an error:
 * the resolver (tunnel/named-targets.ts) reports unknown names itself, with what exists.
 *
 * Same conventions as `ssm-api.ts`: the settings' region, profile and credentials, the endpoint
 * rules of `endpoints.ts`, and `AwsError`s with stable codes.
 */
import { DescribeDBClustersCommand, DescribeDBInstancesCommand, RDSClient } from '@aws-sdk/client-rds';
import {
  DescribeReplicationGroupsCommand,
  DescribeServerlessCachesCommand,
  ElastiCacheClient,
} from '@aws-sdk/client-elasticache';
import { AwsError } from '../errors.js';
import { baseCredentialProvider, refreshingCredentials } from './credentials.js';
import { clientBase, resolveServiceEndpoint } from './endpoints.js';
import { mapAwsError } from './error-map.js';
import type { AwsSettings } from './settings.js';

export interface RdsInstance {
  id: string;
  engine?: string;
  status?: string;
  host?: string;
  port?: number;
  /** The Aurora cluster this instance belongs to. */
  clusterId?: string;
  iamAuth: boolean;
}

export interface RdsCluster {
  id: string;
  engine?: string;
  status?: string;
  /** Writer endpoint. */
  host?: string;
  readerHost?: string;
  port?: number;
  iamAuth: boolean;
}

export interface CacheEndpointInfo {
  /** Replication group id or serverless cache name. */
  id: string;
  kind: 'replication-group' | 'serverless';
  engine?: string;
  status?: string;
  host?: string;
  port?: number;
  readerHost?: string;
  readerPort?: number;
}

export interface RdsApi {
  /** One instance (`id`), or all of them. */
  describeDbInstances(id?: string): Promise<RdsInstance[]>;
  describeDbClusters(id?: string): Promise<RdsCluster[]>;
}

export interface ElastiCacheApi {
  describeReplicationGroups(id?: string): Promise<CacheEndpointInfo[]>;
  describeServerlessCaches(name?: string): Promise<CacheEndpointInfo[]>;
}

/** Pages read at most per listing (100 records each): a runaway NextToken loop stops. */
const MAX_PAGES = 100;

/** The services' "no such name" faults: RDS `DBInstanceNotFound`, ElastiCache `…NotFoundFault`. */
const NOT_FOUND = /NotFound/;

function isNotFound(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const name = (err as { name?: unknown }).name;
  const code = (err as { Code?: unknown }).Code;
  return (typeof name === 'string' && NOT_FOUND.test(name)) || (typeof code === 'string' && NOT_FOUND.test(code));
}

async function call<T>(op: string, invalidate: () => void, fn: () => Promise<T[]>): Promise<T[]> {
  try {
    return await fn();
  } catch (err) {
    if (isNotFound(err)) return [];
    const mapped = mapAwsError(err, op);
    if (mapped.code === 'ERR_AWS_EXPIRED_TOKEN' || mapped.code === 'ERR_AWS_CREDENTIALS') invalidate();
    if (mapped.code === 'ERR_AWS_ENDPOINT_UNREACHABLE')
      return Promise.reject(
        new AwsError(mapped.code, mapped.message.replace('SSM endpoint', `${op.split(':')[0] ?? ''} endpoint`), {
          cause: err,
          details: mapped.details,
        }),
      );
    throw mapped;
  }
}

async function allPages<T>(fetch: (marker: string | undefined) => Promise<{ items: T[]; marker?: string }>) {
  const out: T[] = [];
  let marker: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const res = await fetch(marker);
    out.push(...res.items);
    marker = res.marker;
    if (marker === undefined || marker === '') break;
  }
  return out;
}

export function createRdsApi(settings: AwsSettings): RdsApi {
  const creds = refreshingCredentials(baseCredentialProvider(settings));
  const client = new RDSClient({
    ...clientBase(settings, resolveServiceEndpoint(settings, 'RDS')),
    credentials: creds.provider,
  });
  const invalidate = (): void => creds.invalidate();
  return {
    describeDbInstances: (id) =>
      call('RDS:DescribeDBInstances', invalidate, () =>
        allPages(async (marker) => {
          const res = await client.send(
            new DescribeDBInstancesCommand({
              ...(id === undefined ? {} : { DBInstanceIdentifier: id }),
              ...(marker === undefined ? {} : { Marker: marker }),
              MaxRecords: 100,
            }),
          );
          const items = (res.DBInstances ?? []).flatMap((d): RdsInstance[] => {
            if (d.DBInstanceIdentifier === undefined) return [];
            const i: RdsInstance = { id: d.DBInstanceIdentifier, iamAuth: d.IAMDatabaseAuthenticationEnabled === true };
            if (d.Engine !== undefined) i.engine = d.Engine;
            if (d.DBInstanceStatus !== undefined) i.status = d.DBInstanceStatus;
            if (d.Endpoint?.Address !== undefined) i.host = d.Endpoint.Address;
            if (d.Endpoint?.Port !== undefined) i.port = d.Endpoint.Port;
            if (d.DBClusterIdentifier !== undefined) i.clusterId = d.DBClusterIdentifier;
            return [i];
          });
          return { items, ...(res.Marker === undefined ? {} : { marker: res.Marker }) };
        }),
      ),
    describeDbClusters: (id) =>
      call('RDS:DescribeDBClusters', invalidate, () =>
        allPages(async (marker) => {
          const res = await client.send(
            new DescribeDBClustersCommand({
              ...(id === undefined ? {} : { DBClusterIdentifier: id }),
              ...(marker === undefined ? {} : { Marker: marker }),
              MaxRecords: 100,
            }),
          );
          const items = (res.DBClusters ?? []).flatMap((d): RdsCluster[] => {
            if (d.DBClusterIdentifier === undefined) return [];
            const c: RdsCluster = { id: d.DBClusterIdentifier, iamAuth: d.IAMDatabaseAuthenticationEnabled === true };
            if (d.Engine !== undefined) c.engine = d.Engine;
            if (d.Status !== undefined) c.status = d.Status;
            if (d.Endpoint !== undefined) c.host = d.Endpoint;
            if (d.ReaderEndpoint !== undefined) c.readerHost = d.ReaderEndpoint;
            if (d.Port !== undefined) c.port = d.Port;
            return [c];
          });
          return { items, ...(res.Marker === undefined ? {} : { marker: res.Marker }) };
        }),
      ),
  };
}

export function createElastiCacheApi(settings: AwsSettings): ElastiCacheApi {
  const creds = refreshingCredentials(baseCredentialProvider(settings));
  const client = new ElastiCacheClient({
    ...clientBase(settings, resolveServiceEndpoint(settings, 'ELASTICACHE')),
    credentials: creds.provider,
  });
  const invalidate = (): void => creds.invalidate();
  return {
    describeReplicationGroups: (id) =>
      call('ElastiCache:DescribeReplicationGroups', invalidate, () =>
        allPages(async (marker) => {
          const res = await client.send(
            new DescribeReplicationGroupsCommand({
              ...(id === undefined ? {} : { ReplicationGroupId: id }),
              ...(marker === undefined ? {} : { Marker: marker }),
              MaxRecords: 100,
            }),
          );
          const items = (res.ReplicationGroups ?? []).flatMap((g): CacheEndpointInfo[] => {
            if (g.ReplicationGroupId === undefined) return [];
            const c: CacheEndpointInfo = { id: g.ReplicationGroupId, kind: 'replication-group' };
            if (g.Engine !== undefined) c.engine = g.Engine;
            if (g.Status !== undefined) c.status = g.Status;
            // Cluster mode on: one configuration endpoint; off: the node group's primary/reader.
            const group = g.NodeGroups?.[0];
            const primary = g.ConfigurationEndpoint ?? group?.PrimaryEndpoint;
            if (primary?.Address !== undefined) c.host = primary.Address;
            if (primary?.Port !== undefined) c.port = primary.Port;
            if (g.ConfigurationEndpoint === undefined && group?.ReaderEndpoint?.Address !== undefined) {
              c.readerHost = group.ReaderEndpoint.Address;
              if (group.ReaderEndpoint.Port !== undefined) c.readerPort = group.ReaderEndpoint.Port;
            }
            return [c];
          });
          return { items, ...(res.Marker === undefined ? {} : { marker: res.Marker }) };
        }),
      ),
    describeServerlessCaches: (name) =>
      call('ElastiCache:DescribeServerlessCaches', invalidate, () =>
        allPages(async (marker) => {
          const res = await client.send(
            new DescribeServerlessCachesCommand({
              ...(name === undefined ? {} : { ServerlessCacheName: name }),
              ...(marker === undefined ? {} : { NextToken: marker }),
              MaxResults: 50,
            }),
          );
          const items = (res.ServerlessCaches ?? []).flatMap((s): CacheEndpointInfo[] => {
            if (s.ServerlessCacheName === undefined) return [];
            const c: CacheEndpointInfo = { id: s.ServerlessCacheName, kind: 'serverless' };
            if (s.Engine !== undefined) c.engine = s.Engine;
            if (s.Status !== undefined) c.status = s.Status;
            if (s.Endpoint?.Address !== undefined) c.host = s.Endpoint.Address;
            if (s.Endpoint?.Port !== undefined) c.port = s.Endpoint.Port;
            if (s.ReaderEndpoint?.Address !== undefined) c.readerHost = s.ReaderEndpoint.Address;
            if (s.ReaderEndpoint?.Port !== undefined) c.readerPort = s.ReaderEndpoint.Port;
            return [c];
          });
          return { items, ...(res.NextToken === undefined ? {} : { marker: res.NextToken }) };
        }),
      ),
  };
}
