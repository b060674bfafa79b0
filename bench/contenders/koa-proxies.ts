// koa-proxies (http-proxy inside a Koa middleware), with a keep-alive agent to the origin.
import http from 'node:http';
import Koa from 'koa';
import proxy from 'koa-proxies';
import { listen, ORIGIN } from './announce';

const app = new Koa();
app.silent = true;
app.use(proxy('/', { target: ORIGIN, agent: new http.Agent({ keepAlive: true }) }));

listen(http.createServer(app.callback()));
