from tests.flows import exchange, get_code


def test_discovery_names_the_plain_issuer(client):
    doc = client.get("/.well-known/openid-configuration").get_json()
    assert doc["issuer"] == "http://127.0.0.1:5000"


def test_code_flow_issues_tokens(client, user):
    code, _params, verifier = get_code(client)
    response = exchange(client, code, verifier)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert {"access_token", "id_token", "refresh_token"} <= set(body)
