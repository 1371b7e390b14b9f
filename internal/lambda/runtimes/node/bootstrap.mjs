// sluice's Lambda runtime for Node.js.
//
// Runs the Runtime API loop for a `file.function` handler the way AWS's
// Node.js runtime does: CommonJS (.js, .cjs) and ES modules (.mjs, or .js
// under "type": "module"), async and callback handlers, a context object
// with AWS's fields, console.* captured in AWS's log format, errors as
// {errorType, errorMessage, trace}, and init failures as
// Runtime.ImportModuleError, Runtime.HandlerNotFound,
// Runtime.MalformedHandlerName or Runtime.UserCodeSyntaxError on
// /runtime/init/error.

import fs from 'node:fs';
import http from 'node:http';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import util from 'node:util';

const API = process.env.AWS_LAMBDA_RUNTIME_API || '';
const sep = API.lastIndexOf(':');
const HOST = API.slice(0, sep);
const PORT = Number(API.slice(sep + 1));
const BASE = '/2018-06-01/runtime/';
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

let requestId; // undefined outside an invocation, as AWS logs it

// --- logging ------------------------------------------------------------------

function writeOut(s) {
  const buf = Buffer.from(s, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
    }
  }
}

function logger(level) {
  return (...args) => {
    writeOut(`${new Date().toISOString()}\t${requestId}\t${level}\t${util.format(...args)}\n`);
  };
}

console.log = logger('INFO');
console.info = logger('INFO');
console.warn = logger('WARN');
console.error = logger('ERROR');
console.debug = logger('DEBUG');
console.trace = (...args) => {
  const err = new Error(util.format(...args));
  err.name = 'Trace';
  logger('TRACE')(err.stack);
};

// --- Runtime API ---------------------------------------------------------------

function request(method, p, body, headers = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    const req = http.request({
      host: HOST, port: PORT, method, path: BASE + p, agent,
      headers: { ...headers, 'Content-Length': data ? data.length : 0 },
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

function errorDoc(err) {
  if (err instanceof Error) {
    return {
      errorType: err.name || 'Error',
      errorMessage: err.message,
      trace: typeof err.stack === 'string' ? err.stack.split('\n') : [],
    };
  }
  if (err !== null && typeof err === 'object') {
    let msg;
    try { msg = JSON.stringify(err); } catch { msg = String(err); }
    return { errorType: 'object', errorMessage: msg, trace: [] };
  }
  return { errorType: typeof err, errorMessage: String(err), trace: [] };
}

function postError(p, doc) {
  const body = JSON.stringify(doc);
  return request('POST', p, body, {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType,
  });
}

class InitError extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause && cause.stack) this.stack = `${type}: ${message}\n${cause.stack.split('\n').slice(1).join('\n')}`;
  }
}

// --- SDK defaults ------------------------------------------------------------------

// Object Lambda functions call WriteGetObjectResponse, which the JS SDK sends
// to "<outputRoute>.<endpoint host>": that needs wildcard DNS. Every S3Client
// of @aws-sdk/client-s3 the function loads gets disableHostPrefix, unless
// the function sets AWS_DISABLE_HOST_PREFIX_INJECTION=false (botocore's
// variable). A client's disableHostPrefix is false by default, so an explicit
// false cannot be told apart: the variable is the way to keep the prefix.
const s3ClientModule = /[\\/]@aws-sdk[\\/]client-s3[\\/]dist-cjs[\\/]index\.js$/;

function disableHostPrefix(exports) {
  const C = exports && exports.S3Client;
  if (typeof C !== 'function' || Object.prototype.hasOwnProperty.call(C.prototype, 'send')) return;
  const send = C.prototype.send;
  C.prototype.send = function sendWithoutHostPrefix(...args) {
    if (process.env.AWS_DISABLE_HOST_PREFIX_INJECTION !== 'false' && this.config && this.config.disableHostPrefix === false) {
      this.config.disableHostPrefix = true;
    }
    return send.apply(this, args);
  };
}

// CommonJS loads (require, and import() of the CommonJS build) pass through
// Module._load; the loaded module is patched before the caller sees it.
function hookSDKs() {
  const load = Module._load;
  Module._load = function loadPatched(request, parent, isMain) {
    const exports = load.call(this, request, parent, isMain);
    if (typeof request === 'string' && request.includes('client-s3')) {
      let file = request;
      try { file = Module._resolveFilename(request, parent, isMain); } catch { /* as requested */ }
      if (s3ClientModule.test(file)) disableHostPrefix(exports);
    }
    return exports;
  };
}

// patchLoadedSDKs patches an SDK already in the module cache (loaded
// before the hook, or by a path the hook did not see).
function patchLoadedSDKs() {
  for (const [file, mod] of Object.entries(Module._cache)) {
    if (s3ClientModule.test(file)) disableHostPrefix(mod.exports);
  }
}

// --- handler loading -------------------------------------------------------------

function packageType(dir) {
  for (;;) {
    const pj = path.join(dir, 'package.json');
    try {
      return JSON.parse(fs.readFileSync(pj, 'utf8')).type === 'module' ? 'module' : 'commonjs';
    } catch (e) {
      if (e.code !== 'ENOENT') return 'commonjs';
    }
    const up = path.dirname(dir);
    if (up === dir) return 'commonjs';
    dir = up;
  }
}

async function loadModule(root, name) {
  const base = path.resolve(root, name);
  for (const ext of ['.js', '.mjs', '.cjs']) {
    const file = base + ext;
    if (!fs.existsSync(file)) continue;
    const esm = ext === '.mjs' || (ext === '.js' && packageType(path.dirname(file)) === 'module');
    if (esm) return import(pathToFileURL(file).href);
    return createRequire(file)(file);
  }
  // A package in node_modules, or a directory with an index.
  const require = createRequire(path.join(root, 'noop.js'));
  let resolved;
  try {
    resolved = require.resolve(name.startsWith('.') || name.startsWith('/') ? base : name, { paths: [root] });
  } catch (e) {
    const err = new Error(`Cannot find module '${name}'\nRequire stack:\n- ${import.meta.url.replace('file://', '')}`);
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  }
  if (resolved.endsWith('.mjs')) return import(pathToFileURL(resolved).href);
  return require(resolved);
}

async function loadHandler(root, full) {
  const slash = full.lastIndexOf('/');
  const dir = full.slice(0, slash + 1);
  const rest = full.slice(slash + 1);
  const m = /^([^.]*)\.(.*)$/.exec(rest);
  if (!m || !m[1] || !m[2]) throw new InitError('Runtime.MalformedHandlerName', 'Bad handler');
  let mod;
  try {
    mod = await loadModule(root, dir + m[1]);
  } catch (e) {
    if (e instanceof SyntaxError) throw new InitError('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`, e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new InitError('Runtime.ImportModuleError', `Error: ${e.message}`, e);
    }
    throw e;
  }
  const parts = m[2].split('.');
  const lookup = (obj) => parts.reduce((o, part) => (o == null ? undefined : o[part]), obj);
  let fn = lookup(mod);
  // A CommonJS module loaded with import() keeps module.exports in default.
  if (typeof fn !== 'function' && mod && mod.default) fn = lookup(mod.default);
  if (typeof fn !== 'function') {
    throw new InitError('Runtime.HandlerNotFound', `${full} is undefined or not exported`);
  }
  return fn;
}

// --- invocation ------------------------------------------------------------------

function makeContext(h, finish) {
  const deadline = Number(h['lambda-runtime-deadline-ms'] || 0);
  const ctx = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: h['lambda-runtime-aws-request-id'],
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    done: (err, val) => finish(err, val),
    succeed: (val) => finish(null, val),
    fail: (err) => finish(err == null ? 'handled' : err),
  };
  if (h['lambda-runtime-client-context']) ctx.clientContext = JSON.parse(h['lambda-runtime-client-context']);
  if (h['lambda-runtime-cognito-identity']) ctx.identity = JSON.parse(h['lambda-runtime-cognito-identity']);
  return ctx;
}

let failCurrent = null; // reports an uncaught error of the running invocation

function run(handler, event, h) {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (err, val) => {
      if (finished) return;
      finished = true;
      failCurrent = null;
      resolve(err != null ? { err } : { val });
    };
    failCurrent = (err) => finish(err);
    const ctx = makeContext(h, finish);
    try {
      const r = handler(event, ctx, finish);
      if (r && typeof r.then === 'function') {
        r.then((v) => finish(null, v), (e) => finish(e == null ? new Error('Promise rejected with ' + e) : e));
      } else if (handler.length < 3) {
        // A synchronous handler that neither returns a promise nor takes a
        // callback: answer once pending callbacks of this turn have run.
        setImmediate(() => finish(null, r));
      }
    } catch (e) {
      finish(e);
    }
  });
}

async function main() {
  const root = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  hookSDKs();
  try {
    handler = await loadHandler(root, process.env._HANDLER || '');
    patchLoadedSDKs();
  } catch (e) {
    const doc = errorDoc(e);
    console.error('Uncaught Exception', '\t' + JSON.stringify({ ...doc, stack: doc.trace, trace: undefined }));
    await postError('init/error', doc);
    process.exit(1);
  }

  process.on('uncaughtException', (e) => {
    console.error('Uncaught Exception', '\t' + JSON.stringify(errorDoc(e)));
    if (failCurrent) failCurrent(e);
    else process.exit(129);
  });
  process.on('unhandledRejection', (reason) => {
    const err = new Error(`Runtime.UnhandledPromiseRejection: ${reason instanceof Error ? `${reason.name}: ${reason.message}` : reason}`);
    err.name = 'Runtime.UnhandledPromiseRejection';
    if (failCurrent) failCurrent(err);
  });

  for (;;) {
    const { status, headers: h, body } = await request('GET', 'invocation/next');
    if (status !== 200) {
      process.stderr.write(`sluice runtime: /next answered ${status}: ${body}\n`);
      process.exit(1);
    }
    const id = h['lambda-runtime-aws-request-id'];
    requestId = id;
    if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;

    let out;
    let event;
    try {
      event = body.length ? JSON.parse(body.toString('utf8')) : {};
    } catch (e) {
      out = { err: new InitError('Runtime.UnmarshalError', `Unable to parse input as json: ${e.message}`) };
    }
    if (!out) out = await run(handler, event, h);

    if (out.err === undefined) {
      let payload;
      try {
        payload = JSON.stringify(out.val === undefined ? null : out.val);
      } catch (e) {
        out = { err: new InitError('Runtime.MarshalError', `Unable to stringify response body as json: ${e.message}`) };
      }
      if (payload !== undefined && out.err === undefined) {
        await request('POST', `invocation/${id}/response`, payload, { 'Content-Type': 'application/json' });
        continue;
      }
    }
    const doc = errorDoc(out.err);
    console.error('Invoke Error', '\t' + JSON.stringify({ errorType: doc.errorType, errorMessage: doc.errorMessage, stack: doc.trace }));
    await postError(`invocation/${id}/error`, doc);
  }
}

main().catch((e) => {
  process.stderr.write(`sluice runtime: ${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
