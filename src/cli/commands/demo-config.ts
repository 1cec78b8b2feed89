/**
 * The config `tunnel demo` runs (also examples/demo.yaml; a test keeps them equal). The
 * emulator's default instance i-0123456789abcdef0 has the Name tag `demo`; the demo services
 * put an echo server behind its port 7 and a small web server behind its port 80.
 */
export const DEMO_CONFIG = `# The configuration \`tunnel demo\` uses. The demo points tunnel at its embedded emulator;
# against AWS you would set defaults.profile/region and real targets instead.
version: 1
targets:
  demo: { name: demo }          # the emulated instance, by its Name tag
forwards:
  echo:                         # TCP echo service on the instance's port 7
    target: demo
    remotePort: 7
    localPort: auto
  web:                          # small HTTP server on the instance's port 80
    target: demo
    remotePort: 80
    localPort: auto
groups:
  all: [echo, web]
`;
