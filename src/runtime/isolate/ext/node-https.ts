/** node:https (nodejs_compat): node:http's client and server with https defaults. */
import * as http from 'node:http';

const client = http.makeClient('https:');
export const request = client.request;
export const get = client.get;
export const Agent = http.Agent;
export const globalAgent = new http.Agent();
export const Server = http.Server;
export const createServer = http.createServer;
export default { request, get, Agent, globalAgent, Server, createServer };
