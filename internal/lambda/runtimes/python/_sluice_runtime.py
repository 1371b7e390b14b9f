"""sluice's Lambda runtime for Python.

Runs the Runtime API loop for a `module.function` handler the way AWS's
Python runtime does: the event is decoded JSON, the handler gets a context
object with AWS's attributes, print and logging output is captured with
AWS's log format, errors are reported as {errorMessage, errorType,
requestId, stackTrace}, and init failures as Runtime.ImportModuleError,
Runtime.HandlerNotFound, Runtime.UserCodeSyntaxError or
Runtime.MalformedHandlerName on /runtime/init/error.

bootstrap.py, the script sluice starts, only imports this module and calls
main(): Python caches a module's bytecode, where a script is compiled anew
at every start.

botocore older than 1.31 (boto3 < 1.28) ignores AWS_ENDPOINT_URL; for those
an import hook points every client created without an endpoint_url at it,
so boto3.client('s3') reaches sluice unchanged. Host prefixes (the
WriteGetObjectResponse route) are turned off with
AWS_DISABLE_HOST_PREFIX_INJECTION, and by the same hook for botocore older
than 1.37, which does not read it.

Nothing that a function may not need is imported up front, since every
import is paid for at each cold start: logging and botocore are patched
when the function imports them; json is imported at the first event that
is not the empty object {} (or the first result that is not None); the
Runtime API client uses _socket rather than socket (which pulls in enum
and selectors).
"""

import _socket
import os
import sys
import time

_REQUEST_ID = None
_API_PATH = "/2018-06-01/runtime/"

# The largest response head the client accepts from the Runtime API.
_MAX_HEAD = 1 << 20


class _RuntimeAPI:
    """A minimal HTTP/1.1 keep-alive client for the local Runtime API."""

    def __init__(self, addr):
        host, _, port = addr.rpartition(":")
        self._host_port = (host.strip("[]"), int(port))
        self._host = addr.encode("latin-1")
        self._sock = None
        self._buf = b""

    def _connect(self):
        host, port = self._host_port
        err = None
        for family, kind, proto, _, sockaddr in _socket.getaddrinfo(host, port, 0, _socket.SOCK_STREAM):
            sock = _socket.socket(family, kind, proto)
            try:
                sock.connect(sockaddr)
            except OSError as e:
                sock.close()
                err = e
                continue
            sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
            self._sock = sock
            self._buf = b""
            return
        raise err or ConnectionError("cannot resolve the runtime API address %s" % host)

    def request(self, method, path, body=b"", headers=()):
        if self._sock is None:
            self._connect()
        head = [b"%s %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (
            method, path.encode("latin-1"), self._host, len(body))]
        for k, v in headers:
            head.append(b"%s: %s\r\n" % (k, v.encode("latin-1", "replace")))
        head.append(b"\r\n")
        data = b"".join(head)
        try:
            if len(body) < 65536:
                self._sock.sendall(data + body)
            else:
                self._sock.sendall(data)
                self._sock.sendall(body)
            return self._read()
        except Exception:
            self._sock.close()
            self._sock = None
            raise

    def _recv(self):
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("runtime API closed the connection")
        return chunk

    def _read(self):
        buf = self._buf
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(buf) > _MAX_HEAD:
                raise ConnectionError("runtime API sent an oversized response head")
            buf += self._recv()
        lines = buf[:end].split(b"\r\n")
        status = int(lines[0].split(None, 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(b":")
            headers[k.strip().lower().decode("latin-1")] = v.strip().decode("latin-1")
        n = int(headers.get("content-length", "0"))
        rest = buf[end + 4:]
        if len(rest) < n:
            data = bytearray(rest)
            while len(data) < n:
                data += self._recv()
            rest = bytes(data)
        self._buf = rest[n:]
        return status, headers, rest[:n]


class _InitError(Exception):
    def __init__(self, error_type, message, trace=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


class Client:
    """ClientContext.client of a mobile SDK invocation."""

    __slots__ = ["installation_id", "app_title", "app_version_name",
                 "app_version_code", "app_package_name"]

    def __init__(self, d):
        self.installation_id = d.get("installation_id")
        self.app_title = d.get("app_title")
        self.app_version_name = d.get("app_version_name")
        self.app_version_code = d.get("app_version_code")
        self.app_package_name = d.get("app_package_name")


class ClientContext:
    """The client context passed by the caller (X-Amz-Client-Context)."""

    __slots__ = ["custom", "env", "client"]

    def __init__(self, d):
        self.custom = d.get("custom")
        self.env = d.get("env")
        c = d.get("client")
        self.client = Client(c) if c else None


class CognitoIdentity:
    """The Cognito identity of the caller, when there is one."""

    __slots__ = ["cognito_identity_id", "cognito_identity_pool_id"]

    def __init__(self, d):
        self.cognito_identity_id = d.get("cognitoIdentityId")
        self.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")


class LambdaContext:
    """The context object handed to the handler, as in AWS's runtime."""

    def __init__(self, request_id, deadline_ms, invoked_arn, client_context, identity):
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_arn
        self.client_context = client_context
        self.identity = identity
        self.tenant_id = None
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(self._deadline_ms - int(time.time() * 1000), 0)

    def log(self, msg):
        sys.stdout.write(str(msg))

    def __repr__(self):
        return ("LambdaContext([aws_request_id={},log_group_name={},log_stream_name={},"
                "function_name={},memory_limit_in_mb={},function_version={},"
                "invoked_function_arn={},client_context={},identity={}])").format(
            self.aws_request_id, self.log_group_name, self.log_stream_name,
            self.function_name, self.memory_limit_in_mb, self.function_version,
            self.invoked_function_arn, self.client_context, self.identity)


# --- import hooks -----------------------------------------------------------

class _PatchingLoader:
    """Runs the real loader, then a patch function on the new module."""

    def __init__(self, loader, patch):
        self._loader = loader
        self._patch = patch

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        try:
            self._patch(module)
        except Exception as e:  # a failed patch must not break the import
            sys.stderr.write("sluice runtime: patching %s failed: %r\n" % (module.__name__, e))

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _ImportHook:
    """A meta path finder that patches selected modules when first imported."""

    def __init__(self, patches):
        self._patches = patches

    def find_spec(self, name, path=None, target=None):
        patch = self._patches.get(name)
        if patch is None:
            return None
        del self._patches[name]
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _PatchingLoader(spec.loader, patch)
                return spec
        return None


def _patch_logging(logging):
    class Filter(logging.Filter):
        def filter(self, record):
            record.aws_request_id = _REQUEST_ID
            return True

    formatter = logging.Formatter(
        "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s",
        "%Y-%m-%dT%H:%M:%S")
    formatter.converter = time.gmtime
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    handler.addFilter(Filter())
    logging.getLogger().addHandler(handler)


def _endpoint_env(service_name):
    if os.environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return None
    key = "AWS_ENDPOINT_URL_" + service_name.upper().replace("-", "_").replace(" ", "_")
    return os.environ.get(key) or os.environ.get("AWS_ENDPOINT_URL")


def _host_prefix_disabled():
    return os.environ.get("AWS_DISABLE_HOST_PREFIX_INJECTION", "").lower() == "true"


def _without_host_prefix(config):
    """config with inject_host_prefix=False, unless the caller chose."""
    from botocore.config import Config
    if config is not None and "inject_host_prefix" in getattr(config, "_user_provided_options", {}):
        return config
    base = Config(inject_host_prefix=False)
    return base if config is None else base.merge(config)


def _patch_botocore_session(module):
    import botocore
    try:
        version = tuple(int(x) for x in botocore.__version__.split(".")[:3])
    except ValueError:
        return
    # botocore reads AWS_ENDPOINT_URL itself from 1.31 and
    # AWS_DISABLE_HOST_PREFIX_INJECTION from 1.37 (Feb 2025); older ones
    # get both from here.
    provider = sys.modules.get("botocore.configprovider")
    variables = getattr(provider, "BOTOCORE_DEFAUT_SESSION_VARIABLES", {})
    needs_endpoint = version < (1, 31, 0)
    needs_prefix = "disable_host_prefix_injection" not in variables
    if not needs_endpoint and not needs_prefix:
        return
    original = module.Session.create_client

    def create_client(self, *args, **kwargs):
        service_name = args[0] if args else kwargs.get("service_name", "")
        if needs_endpoint and len(args) < 6 and kwargs.get("endpoint_url") is None:
            endpoint = _endpoint_env(service_name)
            if endpoint:
                kwargs["endpoint_url"] = endpoint
        if needs_prefix and len(args) < 10 and _host_prefix_disabled():
            kwargs["config"] = _without_host_prefix(kwargs.get("config"))
        return original(self, *args, **kwargs)

    create_client.__doc__ = original.__doc__
    module.Session.create_client = create_client


# --- errors -----------------------------------------------------------------

def _stack_trace(tb):
    import traceback
    frames = traceback.extract_tb(tb)
    for i, frame in enumerate(frames):
        if frame.filename != __file__:
            frames = frames[i:]
            break
    else:
        frames = []
    return traceback.format_list(frames)


def _error_doc(error_type, message, trace, request_id):
    return {"errorMessage": message, "errorType": error_type,
            "requestId": request_id or "", "stackTrace": trace}


def _log_error(doc):
    lines = ["[ERROR] %s: %s" % (doc["errorType"], doc["errorMessage"])]
    if doc["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(s.rstrip("\n") for s in doc["stackTrace"])
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def _to_json(obj):
    if obj is None:
        return b"null"
    import json

    def default(o):
        import decimal
        if isinstance(o, decimal.Decimal):
            return int(o) if o == o.to_integral_value() else float(o)
        raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)
    return json.dumps(obj, default=default).encode("utf-8")


# --- handler loading ----------------------------------------------------------

def _load_handler(handler):
    try:
        modname, fname = handler.rsplit(".", 1)
    except ValueError as e:
        raise _InitError("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    if not modname or not fname:
        raise _InitError("Runtime.MalformedHandlerName", "Bad handler '%s'" % handler)
    modname = modname.replace("/", ".")
    if modname.startswith("."):
        raise _InitError("Runtime.MalformedHandlerName",
                         "Cannot use relative module path '%s' as a handler module" % modname)
    if modname.split(".")[0] in sys.builtin_module_names:
        raise _InitError("Runtime.BuiltInModuleConflict",
                         "Cannot use built-in module %s as a handler module" % modname)
    try:
        # importlib.import_module(modname), without importing importlib.
        __import__(modname)
        module = sys.modules[modname]
    except ImportError as e:
        raise _InitError("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (modname, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, (e.text or "").strip())]
        raise _InitError("Runtime.UserCodeSyntaxError",
                         "Syntax error in module '%s': %s" % (modname, e), trace)
    try:
        fn = getattr(module, fname)
    except AttributeError:
        raise _InitError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    if not callable(fn):
        raise _InitError("Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (fname, modname))
    return fn


# --- main loop ----------------------------------------------------------------

def _context(headers):
    client_context = identity = None
    cc = headers.get("lambda-runtime-client-context")
    if cc:
        import json
        client_context = ClientContext(json.loads(cc))
    ci = headers.get("lambda-runtime-cognito-identity")
    if ci:
        import json
        identity = CognitoIdentity(json.loads(ci))
    return LambdaContext(
        headers.get("lambda-runtime-aws-request-id"),
        int(headers.get("lambda-runtime-deadline-ms", "0")),
        headers.get("lambda-runtime-invoked-function-arn"),
        client_context, identity)


def _decode_event(body):
    if not body or body == b"{}":
        return {}
    import json
    return json.loads(body)


def _invoke(api, handler, headers, body):
    global _REQUEST_ID
    request_id = headers.get("lambda-runtime-aws-request-id", "")
    _REQUEST_ID = request_id
    trace_id = headers.get("lambda-runtime-trace-id")
    if trace_id:
        os.environ["_X_AMZN_TRACE_ID"] = trace_id
    else:
        os.environ.pop("_X_AMZN_TRACE_ID", None)
    base = _API_PATH + "invocation/" + request_id
    try:
        try:
            event = _decode_event(body)
        except ValueError as e:
            raise _InitError("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
        result = handler(event, _context(headers))
        try:
            payload = _to_json(result)
        except (TypeError, ValueError) as e:
            raise _InitError("Runtime.MarshalError", "Unable to marshal response: %s" % e)
    except _InitError as e:
        doc = _error_doc(e.error_type, e.message, e.trace, request_id)
    except Exception as e:
        doc = _error_doc(type(e).__name__, str(e), _stack_trace(sys.exc_info()[2]), request_id)
    else:
        sys.stdout.flush()
        sys.stderr.flush()
        # A 413 (response too large) is reported to the caller by sluice;
        # the runtime just carries on.
        api.request(b"POST", base + "/response", payload)
        return
    _log_error(doc)
    api.request(b"POST", base + "/error", _to_json(doc),
                ((b"Lambda-Runtime-Function-Error-Type", doc["errorType"]),
                 (b"Content-Type", "application/json")))


def main():
    # Output is line buffered so that it reaches the log before the
    # response does.
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(line_buffering=True)
        except AttributeError:
            pass
    runtime_dir = os.path.dirname(os.path.abspath(__file__))
    task_root = os.environ.get("LAMBDA_TASK_ROOT") or os.getcwd()
    sys.path[:] = [p for p in sys.path if p and os.path.abspath(p) != runtime_dir]
    sys.path.insert(0, task_root)

    # Object Lambda functions call WriteGetObjectResponse, which SDKs
    # send to "<outputRoute>.<endpoint host>": without the prefix it
    # reaches this node with no DNS set up. A function may set the
    # variable to false to keep it.
    os.environ.setdefault("AWS_DISABLE_HOST_PREFIX_INJECTION", "true")
    patches = {"botocore.session": _patch_botocore_session}
    if "logging" in sys.modules:
        _patch_logging(sys.modules["logging"])
    else:
        patches["logging"] = _patch_logging
    if "botocore.session" in sys.modules:
        _patch_botocore_session(sys.modules["botocore.session"])
    sys.meta_path.insert(0, _ImportHook(patches))

    api = _RuntimeAPI(os.environ["AWS_LAMBDA_RUNTIME_API"])
    try:
        handler = _load_handler(os.environ.get("_HANDLER", ""))
    except _InitError as e:
        doc = _error_doc(e.error_type, e.message, e.trace, None)
    except Exception as e:
        doc = _error_doc(type(e).__name__, str(e), _stack_trace(sys.exc_info()[2]), None)
    else:
        doc = None
    if doc is not None:
        _log_error(doc)
        api.request(b"POST", _API_PATH + "init/error", _to_json(doc),
                    ((b"Lambda-Runtime-Function-Error-Type", doc["errorType"]),
                     (b"Content-Type", "application/json")))
        sys.exit(1)

    next_path = _API_PATH + "invocation/next"
    while True:
        status, headers, body = api.request(b"GET", next_path)
        if status != 200:
            sys.stderr.write("sluice runtime: /next answered %d: %r\n" % (status, body))
            sys.exit(1)
        _invoke(api, handler, headers, body)
