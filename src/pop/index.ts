export { httpOrigin } from '../network/origin.ts';
export { ADMIN_PREFIX, handleAdmin, newAdminToken, writeAdminFile } from './admin.ts';
export {
  analyticsFile,
  type DevOptions,
  type DevServer,
  devCf,
  kvFile,
  LOCAL_POP,
  startDev,
} from './dev.ts';
export { errorResponse } from './errors.ts';
export { type NodeOptions, type NodeServer, OUTPOST_VERSION, startNode } from './node.ts';
export { type Deployer, folderProjects, type Project, type ProjectSource } from './project.ts';
export { type ProxyOptions, type ProxyServer, startProxy } from './proxy.ts';
export { type PopServer, type PopServerOptions, startPopServer } from './server.ts';
