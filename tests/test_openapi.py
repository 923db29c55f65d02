"""openapi.yaml is a valid OpenAPI 3.0 document and covers every route the app serves."""
from pathlib import Path

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from service import create_app
from backend.config import Settings

SPEC = Path(__file__).resolve().parent.parent / "openapi.yaml"


def test_the_spec_is_valid():
    document, _ = read_from_filename(str(SPEC))
    validate(document)


def test_every_route_is_in_the_spec():
    document, _ = read_from_filename(str(SPEC))
    app = create_app(Settings(redis_url="redis://127.0.0.1:1/0"))  # no connection is made to build routes
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item
                  if method in ("get", "post", "delete")}
    served = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        path = rule.rule.replace("<job_id>", "{id}").replace("<study_id>", "{id}").replace("<int:index>", "{index}").replace("<name>", "{name}")
        served |= {(path, method) for method in rule.methods if method in ("GET", "POST", "DELETE")}
    assert served == documented


def test_the_listings_paging_bounds_are_the_ones_the_service_enforces():
    from service.views.explanations import MAX_OFFSET, MAX_PAGE

    document, _ = read_from_filename(str(SPEC))
    for path in ("/explanations", "/studies"):
        schemas = {p["name"]: p["schema"] for p in document["paths"][path]["get"]["parameters"]}
        assert (schemas["limit"]["minimum"], schemas["limit"]["maximum"]) == (1, MAX_PAGE)
        assert (schemas["offset"]["minimum"], schemas["offset"]["maximum"]) == (0, MAX_OFFSET)
