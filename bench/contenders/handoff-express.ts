// express + handoff: res.proxyFetch behind express(), response mode.
import http from 'node:http';
import express from 'express';
import { handoff } from '@handoff/express';
import { listen, ORIGIN } from './announce';

const app = express();
// As for the Koa contender: a gate wide enough for the 5,000 slow streams at once.
app.use(handoff({ concurrency: 8192, maxQueue: 0 }));
app.use((req, res) => res.proxyFetch(`${ORIGIN}${req.url}`));

listen(http.createServer(app));
