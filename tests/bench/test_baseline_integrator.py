"""The bench's xero-python integrator: several apps in one process (a bench drives one per size), each
refreshing its own tokens, although the SDK's Configuration is a process-wide template."""

from bench.baseline import Integrator


def test_each_integrator_refreshes_with_its_own_app(xero_sandbox):
    integrators = []
    for n in range(2):
        tenant_id = xero_sandbox.control.create_tenant("AU", f"Baseline apps {n}")
        integrator = Integrator(xero_sandbox, tenant_id)
        integrator.connect()
        integrators.append(integrator)
    for integrator in integrators:
        before = integrator.store["token"]["refresh_token"]
        integrator.client.refresh_oauth2_token()  # what the SDK does by itself inside a token's last minute
        assert integrator.store["token"]["refresh_token"] != before
        assert integrator.client.configuration.oauth2_token.client_id == integrator.app.client_id
        organisations = integrator.api.get_organisations(integrator.tenant_id).organisations
        assert [o.name for o in organisations] == [f"Baseline apps {integrators.index(integrator)}"]
