import re

import pytest

from testsupport.api import assert_success

pytestmark = pytest.mark.django_db


def test_the_api_root_names_the_api_and_links_health_schema_and_docs(api_client):
    data = assert_success(api_client.get("/api/v1/"), 200, "Morpheus API")
    assert data == {
        "name": "Morpheus API",
        "version": "1.0.0",
        "links": {
            "health": "http://testserver/api/v1/health",
            "schema": "http://testserver/api/v1/schema/",
            "docs": "http://testserver/api/v1/docs/",
        },
    }
    for url in data["links"].values():
        assert api_client.get(url).status_code == 200, url


def test_swagger_ui_is_served_from_our_own_static_files_not_a_cdn(api_client):
    from django.contrib.staticfiles import finders

    html = api_client.get("/api/v1/docs/").content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    for asset in assets:
        assert asset.startswith("/static/drf_spectacular_sidecar/"), asset
        assert finders.find(asset.removeprefix("/static/")), asset
    assert "cdn" not in html.lower()


def test_the_dashboard_origin_from_frontend_url_is_allowed_by_cors(api_client, settings):
    origin = settings.FRONTEND_URL
    response = api_client.get("/api/v1/health", HTTP_ORIGIN=origin)
    assert response["Access-Control-Allow-Origin"] == origin
    stranger = api_client.get("/api/v1/health", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in stranger
