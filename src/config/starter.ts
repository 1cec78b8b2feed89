/** The commented starter file `tunnel init` writes. It must validate as-is (a test checks). */
export const STARTER_CONFIG = `# .tunnel.yaml — port forwards for this project (docs/config.md).
# Bring everything up with \`tunnel up\`, one forward with \`tunnel up db\`,
# or run a command with them: \`tunnel run -- npm run dev\`.
version: 1

# Settings every forward shares. Environment (TUNNEL_PROFILE, TUNNEL_REGION, ...) and
# flags (--profile, --region, ...) override them.
defaults:
  # profile: dev            # AWS profile from ~/.aws/config
  # region: eu-west-1
  bind: [127.0.0.1, "::1"]  # local addresses to listen on
  timeout: 30s              # how long forwards may take to become ready

# Managed instances, by alias. A value is an instance id, a Name tag value,
# or { tags: { Key: Value } }.
targets:
  bastion: i-0123456789abcdef0
  # app: { tags: { Role: app, Env: dev } }

# Forwards, by name. The name is what you type (\`tunnel up db\`) and what \`tunnel run\`
# exports (TUNNEL_DB_HOST, TUNNEL_DB_PORT, TUNNEL_DB_ADDR).
forwards:
  db:
    target: bastion                             # a targets alias or an instance id
    host: mydb.cluster-abc.eu-west-1.rds.amazonaws.com   # omit to reach a port on the target itself
    remotePort: 5432
    localPort: 5432                             # or \`auto\`; omitted = same as remotePort
  # cache:
  #   target: bastion
  #   host: cache.abc.0001.euw1.cache.amazonaws.com
  #   remotePort: 6379
  #   localPort: auto
  #   lazy: true             # open the session on the first connection
  #   idleTimeout: 10m       # ...and close it after 10 minutes without connections

# Named sets of forwards: \`tunnel up backend\`.
groups:
  backend: [db]
`;
