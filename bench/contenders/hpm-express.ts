// express + http-proxy-middleware, with a keep-alive agent to the origin.
import http from 'node:http';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import { listen, ORIGIN } from './announce';

const app = express();
app.use(createProxyMiddleware({ target: ORIGIN, agent: new http.Agent({ keepAlive: true }) }));

listen(http.createServer(app));
