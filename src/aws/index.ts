export {
  createSsmApi,
  portForwardingRequest,
  DOCUMENT_PORT_FORWARDING,
  DOCUMENT_PORT_FORWARDING_REMOTE_HOST,
} from './ssm-api.js';
export type { SsmApi, StartSessionInput, SessionGrant, InstanceFilter, InstanceInfo } from './ssm-api.js';
export { resolveSsmEndpoint } from './settings.js';
export type { AwsSettings, AwsCredentials, AwsCredentialIdentityProvider } from './settings.js';
export { mapAwsError } from './error-map.js';
export { refreshingCredentials, baseCredentialProvider } from './credentials.js';
