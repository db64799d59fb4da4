"""The studio's web app: a JSON API over the library's design functions and a page per
problem (plain HTML, JS and CSS in ``static/``; no build step, nothing fetched from the
internet).

API (every error is a 4xx/5xx answer ``{"error": "one line"}``):

- ``GET /api/info``: presets and ranges the pages need; which crystal systems can generate.
- ``POST /api/porous/targets``: upload a TARGETS.csv, get its curves back.
- ``POST /api/{porous,strain,compositions,graphene,crystals}/design``: check the request
  and start a job; answers 202 with the job.
- ``GET /api/jobs``, ``GET /api/jobs/{id}``: state, progress, result, file names.
- ``POST /api/jobs/{id}/cancel``; ``GET /api/jobs/{id}/files/{name}``: a download.
"""

import logging
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from matinverse.errors import InputError
from matinverse.studio import tasks
from matinverse.studio.jobs import JobManager

log = logging.getLogger(__name__)

STATIC = Path(str(resources.files("matinverse.studio") / "static"))

MAX_UPLOAD = 1 << 20  # bytes

MEDIA_TYPES = {
    ".png": "image/png",
    ".csv": "text/csv",
    ".json": "application/json",
    ".cif": "chemical/x-cif",
    ".xyz": "chemical/x-xyz",
    ".vasp": "text/plain",
}

DESIGNS = {
    "porous": (tasks.PorousRequest, tasks.porous_task),
    "strain": (tasks.StrainRequest, tasks.strain_task),
    "compositions": (tasks.CompositionsRequest, tasks.compositions_task),
    "graphene": (tasks.GrapheneRequest, tasks.graphene_task),
    "crystals": (tasks.CrystalsRequest, tasks.crystals_task),
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _validation_message(err: RequestValidationError) -> str:
    """The first problem of a request body as one line: 'field: what is wrong'."""
    first = err.errors()[0]
    where = ".".join(str(part) for part in first.get("loc", ())[1:])
    message = first.get("msg", "invalid request")
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON"
    return f"{where}: {message}" if where else f"request body: {message}"


def create_app(settings: tasks.StudioSettings | None = None) -> FastAPI:
    """The studio app; jobs run on ``settings.workers`` threads and are cancelled when the
    app shuts down."""
    context = tasks.Context(settings or tasks.StudioSettings())
    jobs = JobManager(context.settings.workers)

    @asynccontextmanager
    async def lifespan(app):
        yield
        jobs.shutdown()

    app = FastAPI(title="matinverse studio", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.jobs = jobs
    app.state.context = context

    @app.exception_handler(InputError)
    async def input_error(request: Request, err: InputError):
        return _error(400, str(err))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError):
        return _error(400, _validation_message(err))

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException):
        return _error(err.status_code, str(err.detail))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception):
        log.exception("request %s failed", request.url.path)
        return _error(500, f"internal error: {type(err).__name__}: {err}")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/api/info")
    def info():
        low, high = tasks.graphene_generator(context).config["density_range"]
        return {
            "porous": tasks.porous_presets(),
            "strain": tasks.strain_info(),
            "graphene": {"density_range": [low, high]},
            "crystals": tasks.crystals_info(context),
        }

    @app.post("/api/porous/targets")
    async def porous_targets(file: UploadFile):
        data = await file.read(MAX_UPLOAD + 1)
        if len(data) > MAX_UPLOAD:
            raise InputError(f"{file.filename}: larger than {MAX_UPLOAD // 1024} KiB")
        return {"targets": tasks.porous_uploaded_targets(data, file.filename or "upload")}

    def add_design_route(kind: str, model, make_work) -> None:
        def start(body: model):  # type: ignore[valid-type]
            work = make_work(body, context)
            return JSONResponse(jobs.submit(kind, work).view(), status_code=202)

        app.post(f"/api/{kind}/design", name=f"{kind}_design")(start)

    for kind, (model, make_work) in DESIGNS.items():
        add_design_route(kind, model, make_work)

    def job_or_404(job_id: str):
        try:
            return jobs.get(job_id)
        except KeyError:
            raise HTTPException(404, f"no job {job_id!r} (old jobs are dropped)") from None

    @app.get("/api/jobs")
    def list_jobs():
        return {"jobs": [job.view() | {"result": None} for job in jobs.jobs()]}

    @app.get("/api/jobs/{job_id}")
    def job(job_id: str):
        return job_or_404(job_id).view()

    @app.post("/api/jobs/{job_id}/cancel")
    def cancel(job_id: str):
        job_or_404(job_id)
        return jobs.cancel(job_id).view()

    @app.get("/api/jobs/{job_id}/files/{name}")
    def download(job_id: str, name: str):
        job = job_or_404(job_id)
        if name not in job.files:
            raise HTTPException(404, f"job {job_id} has no file {name!r}")
        media = MEDIA_TYPES.get(Path(name).suffix, "application/octet-stream")
        disposition = "inline" if media == "image/png" else "attachment"
        headers = {"Content-Disposition": f'{disposition}; filename="{name}"'}
        return Response(job.files[name], media_type=media, headers=headers)

    return app


def serve(app: FastAPI, host: str, port: int) -> None:
    """Run the app with uvicorn until interrupted (warnings and errors logged only)."""
    import uvicorn

    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
