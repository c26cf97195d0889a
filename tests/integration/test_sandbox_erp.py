"""Fidelity of the QuickBooks Online sandbox, over real HTTP on loopback."""

from __future__ import annotations

import uuid
from urllib.parse import quote

import httpx
import pytest

from ledgerbridge.sandboxes import ErpConfig, start_erp

AUTH = {"Authorization": "Bearer sandbox-token"}


@pytest.fixture(scope="module")
def server():
    with start_erp(ErpConfig(throttle=False)) as srv:
        yield srv


@pytest.fixture
def qbo(server):
    """A client bound to a fresh company of the shared sandbox."""
    realm = uuid.uuid4().hex[:12]
    with httpx.Client(
        base_url=f"{server.url}/v3/company/{realm}", headers=AUTH, timeout=5
    ) as client:
        yield client


def create(client, entity, body, **params):
    response = client.post(f"/{entity.lower()}", json=body, params=params)
    assert response.status_code == 200, response.text
    return response.json()[entity]


def query(client, statement):
    return client.get("/query", params={"query": statement})


def fault_code(response):
    return response.json()["Fault"]["Error"][0]["code"]


def seed_customers(client, names):
    return [create(client, "Customer", {"DisplayName": n}) for n in names]


def test_query_pages_with_startposition_and_maxresults(qbo):
    """STARTPOSITION (1-based) and MAXRESULTS page through the matches in order."""
    seed_customers(qbo, [f"C{i:02}" for i in range(7)])
    first = query(
        qbo, "SELECT * FROM Customer ORDERBY DisplayName STARTPOSITION 1 MAXRESULTS 3"
    ).json()
    third = query(
        qbo, "select * from Customer orderby DisplayName startposition 7 maxresults 3"
    ).json()
    assert [c["DisplayName"] for c in first["QueryResponse"]["Customer"]] == ["C00", "C01", "C02"]
    assert first["QueryResponse"]["startPosition"] == 1
    assert first["QueryResponse"]["maxResults"] == 3
    assert [c["DisplayName"] for c in third["QueryResponse"]["Customer"]] == ["C06"]
    assert "time" in first


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("Balance = 0", ["Alpha", "Beta", "Gamma"]),
        ("DisplayName = 'Beta'", ["Beta"]),
        ("DisplayName < 'Beta'", ["Alpha"]),
        ("DisplayName > 'Beta'", ["Gamma"]),
        ("DisplayName <= 'Beta'", ["Alpha", "Beta"]),
        ("DisplayName >= 'Beta'", ["Beta", "Gamma"]),
        ("DisplayName IN ('Alpha', 'Gamma')", ["Alpha", "Gamma"]),
        ("DisplayName LIKE '%et%'", ["Beta"]),
        ("DisplayName LIKE 'g%'", ["Gamma"]),
        ("MetaData.LastUpdatedTime > '2000-01-01T00:00:00-07:00'", ["Alpha", "Beta", "Gamma"]),
        ("MetaData.LastUpdatedTime < '2000-01-01T00:00:00-07:00'", []),
        ("Active = true AND DisplayName LIKE '%mm%'", ["Gamma"]),
    ],
)
def test_query_operators_filter(qbo, where, expected):
    """Each WHERE operator selects exactly the matching customers."""
    seed_customers(qbo, ["Alpha", "Beta", "Gamma"])
    body = query(qbo, f"SELECT * FROM Customer WHERE {where} ORDERBY DisplayName").json()
    assert [c["DisplayName"] for c in body["QueryResponse"].get("Customer", [])] == expected


def test_query_compares_references_on_their_value(qbo):
    """A reference field such as CustomerRef compares on its value."""
    acme, other = seed_customers(qbo, ["Acme", "Other"])
    item = create(qbo, "Item", {"Name": "Consulting", "IncomeAccountRef": {"value": "1"}})
    for customer in (acme, other):
        line = {
            "Amount": 10,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
        }
        create(qbo, "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
    body = query(qbo, f"SELECT * FROM Invoice WHERE CustomerRef = '{acme['Id']}'").json()
    assert [i["CustomerRef"]["value"] for i in body["QueryResponse"]["Invoice"]] == [acme["Id"]]


def test_query_count_returns_total(qbo):
    """count(*) answers totalCount."""
    seed_customers(qbo, ["A", "B"])
    assert query(qbo, "SELECT count(*) FROM Customer").json()["QueryResponse"] == {"totalCount": 2}


def test_query_syntax_error_is_fault_4000(qbo):
    """A statement that does not parse answers 400 with a Fault of code 4000."""
    response = query(qbo, "SELECT * FROM Customer WHERE DisplayName ~ 'x'")
    assert response.status_code == 400
    assert fault_code(response) == "4000"
    assert response.json()["Fault"]["type"] == "ValidationFault"


def test_query_by_post_text_body(qbo):
    """POST /query takes the statement as an application/text body."""
    seed_customers(qbo, ["Zed"])
    response = qbo.post(
        "/query", content=b"SELECT * FROM Customer", headers={"Content-Type": "application/text"}
    )
    assert response.json()["QueryResponse"]["Customer"][0]["DisplayName"] == "Zed"


def test_update_with_stale_synctoken_is_fault_5010(qbo):
    """An update naming an old SyncToken answers 400 Fault 5010 and changes nothing."""
    (customer,) = seed_customers(qbo, ["Stale"])
    create(
        qbo,
        "Customer",
        {"Id": customer["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "New"},
    )
    response = qbo.post(
        "/customer",
        json={"Id": customer["Id"], "SyncToken": "0", "sparse": True, "CompanyName": "Lost"},
    )
    assert response.status_code == 400
    assert fault_code(response) == "5010"
    assert qbo.get(f"/customer/{customer['Id']}").json()["Customer"]["CompanyName"] == "New"


def test_sparse_update_keeps_omitted_fields_and_full_update_clears_them(qbo):
    """sparse=true changes only the sent fields; a full update clears omitted writable fields."""
    (c,) = [
        create(qbo, "Customer", {"DisplayName": "Sparse", "CompanyName": "Co", "GivenName": "Ann"})
    ]
    sparse = create(
        qbo,
        "Customer",
        {"Id": c["Id"], "SyncToken": c["SyncToken"], "sparse": True, "GivenName": "Bea"},
    )
    assert (sparse["CompanyName"], sparse["GivenName"], sparse["SyncToken"]) == ("Co", "Bea", "1")
    full = create(qbo, "Customer", {"Id": c["Id"], "SyncToken": "1", "DisplayName": "Sparse"})
    assert "CompanyName" not in full
    assert "GivenName" not in full


def test_requestid_replays_first_answer_without_second_write(qbo):
    """A repeated requestid gets the first answer byte for byte and creates nothing new."""
    first = qbo.post("/customer", params={"requestid": "r-1"}, json={"DisplayName": "Once"})
    again = qbo.post("/customer", params={"requestid": "r-1"}, json={"DisplayName": "Once"})
    assert first.status_code == again.status_code == 200
    assert first.content == again.content
    assert query(qbo, "SELECT count(*) FROM Customer").json()["QueryResponse"]["totalCount"] == 1


def test_duplicate_display_name_is_fault_6240(qbo):
    """A DisplayName already used (any case) answers 400 Fault 6240 'Duplicate Name Exists Error'."""
    seed_customers(qbo, ["Acme Ltd"])
    response = qbo.post("/customer", json={"DisplayName": "ACME LTD"})
    assert response.status_code == 400
    error = response.json()["Fault"]["Error"][0]
    assert (error["code"], error["Message"]) == ("6240", "Duplicate Name Exists Error")


def test_fault_body_has_documented_shape(qbo):
    """A validation Fault carries Error[{Message, Detail, code, element}], type and time."""
    response = qbo.post("/invoice", json={"Line": []})
    body = response.json()
    assert response.status_code == 400
    assert set(body) == {"Fault", "time"}
    assert set(body["Fault"]) == {"Error", "type"}
    assert set(body["Fault"]["Error"][0]) == {"Message", "Detail", "code", "element"}
    assert body["Fault"]["Error"][0]["element"] == "CustomerRef"


def test_wrong_token_is_401_gateway_fault(server):
    """A wrong bearer token answers 401 with the gateway AuthenticationFailed Fault."""
    response = httpx.get(
        f"{server.url}/v3/company/1/customer/1", headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    error = response.json()["Fault"]["Error"][0]
    assert error["code"] == "3200"
    assert "AuthenticationFailed" in error["Message"]


def test_money_is_decimal_with_two_places(qbo):
    """Amounts are JSON numbers with exactly two decimals, and Qty x UnitPrice must equal Amount."""
    (customer,) = seed_customers(qbo, ["Money"])
    item = create(qbo, "Item", {"Name": "Hours", "IncomeAccountRef": {"value": "1"}})
    line = {
        "Amount": 0.3,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 3, "UnitPrice": 0.1},
    }
    response = qbo.post("/invoice", json={"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
    assert b'"TotalAmt":0.30' in response.content
    bad = {**line, "Amount": 0.31}
    refused = qbo.post("/invoice", json={"CustomerRef": {"value": customer["Id"]}, "Line": [bad]})
    assert fault_code(refused) == "6070"


def test_payment_lowers_invoice_balance_and_links(qbo):
    """Applying a payment lowers the invoice Balance, links both ways and leaves UnappliedAmt."""
    (customer,) = seed_customers(qbo, ["Payer"])
    item = create(qbo, "Item", {"Name": "Work", "IncomeAccountRef": {"value": "1"}})
    line = {
        "Amount": 100,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}},
    }
    invoice = create(qbo, "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
    link = [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]
    payment = create(
        qbo,
        "Payment",
        {
            "CustomerRef": {"value": customer["Id"]},
            "TotalAmt": 120,
            "Line": [{"Amount": 60, "LinkedTxn": link}],
        },
    )
    after = qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]
    assert after["Balance"] == 40
    assert after["LinkedTxn"] == [{"TxnId": payment["Id"], "TxnType": "Payment"}]
    assert payment["UnappliedAmt"] == 60
    qbo.post(
        "/payment", params={"operation": "delete"}, json={"Id": payment["Id"], "SyncToken": "0"}
    )
    assert qbo.get(f"/invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 100


def test_invoice_marks_linked_time_as_billed(qbo):
    """An invoice line linked to a TimeActivity marks it HasBeenBilled; deleting the invoice undoes it."""
    (customer,) = seed_customers(qbo, ["Client"])
    employee = create(qbo, "Employee", {"DisplayName": "Dev One"})
    item = create(qbo, "Item", {"Name": "Dev", "IncomeAccountRef": {"value": "1"}})
    activity = create(
        qbo,
        "TimeActivity",
        {
            "NameOf": "Employee",
            "EmployeeRef": {"value": employee["Id"]},
            "CustomerRef": {"value": customer["Id"]},
            "ItemRef": {"value": item["Id"]},
            "Hours": 2,
            "Minutes": 0,
            "HourlyRate": 50,
            "BillableStatus": "Billable",
        },
    )
    line = {
        "Amount": 100,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2, "UnitPrice": 50},
        "LinkedTxn": [{"TxnId": activity["Id"], "TxnType": "TimeActivity"}],
    }
    invoice = create(qbo, "Invoice", {"CustomerRef": {"value": customer["Id"]}, "Line": [line]})
    assert (
        qbo.get(f"/timeactivity/{activity['Id']}").json()["TimeActivity"]["BillableStatus"]
        == "HasBeenBilled"
    )
    qbo.post(
        "/invoice",
        params={"operation": "delete"},
        json={"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]},
    )
    assert (
        qbo.get(f"/timeactivity/{activity['Id']}").json()["TimeActivity"]["BillableStatus"]
        == "Billable"
    )


def test_billable_expense_is_purchase_with_customer(qbo):
    """A billable expense is a Purchase whose line names BillableStatus and CustomerRef."""
    (customer,) = seed_customers(qbo, ["Rebill"])
    line = {
        "Amount": 42.5,
        "DetailType": "AccountBasedExpenseLineDetail",
        "AccountBasedExpenseLineDetail": {
            "AccountRef": {"value": "4"},
            "BillableStatus": "Billable",
            "CustomerRef": {"value": customer["Id"]},
        },
    }
    purchase = create(
        qbo, "Purchase", {"PaymentType": "Cash", "AccountRef": {"value": "2"}, "Line": [line]}
    )
    assert purchase["TotalAmt"] == 42.5
    no_customer = {
        **line,
        "AccountBasedExpenseLineDetail": {
            "AccountRef": {"value": "4"},
            "BillableStatus": "Billable",
        },
    }
    refused = qbo.post(
        "/purchase",
        json={"PaymentType": "Cash", "AccountRef": {"value": "2"}, "Line": [no_customer]},
    )
    assert fault_code(refused) == "2020"


def test_cdc_returns_changes_and_deletions(qbo):
    """CDC lists changed objects and deleted ones as status Deleted."""
    (customer,) = seed_customers(qbo, ["Cdc"])
    employee = create(qbo, "Employee", {"DisplayName": "E"})
    activity = create(
        qbo,
        "TimeActivity",
        {"NameOf": "Employee", "EmployeeRef": {"value": employee["Id"]}, "Hours": 1},
    )
    qbo.post(
        "/timeactivity",
        params={"operation": "delete"},
        json={"Id": activity["Id"], "SyncToken": "0"},
    )
    since = quote("2020-01-01T00:00:00+00:00")
    response = qbo.get(f"/cdc?entities=Customer,TimeActivity&changedSince={since}")
    assert response.status_code == 400
    recent = qbo.get(
        "/cdc",
        params={
            "entities": "Customer,TimeActivity",
            "changedSince": customer["MetaData"]["CreateTime"],
        },
    )
    parts = recent.json()["CDCResponse"][0]["QueryResponse"]
    assert parts[0]["Customer"][0]["Id"] == customer["Id"]
    assert parts[1]["TimeActivity"] == [
        {
            "Id": activity["Id"],
            "status": "Deleted",
            "MetaData": parts[1]["TimeActivity"][0]["MetaData"],
        }
    ]


def test_minorversion_is_accepted(qbo):
    """Any minorversion, including values below 75, is accepted."""
    (customer,) = seed_customers(qbo, ["Minor"])
    response = qbo.get(f"/customer/{customer['Id']}", params={"minorversion": "40"})
    assert response.status_code == 200


def test_throttle_at_default_limits():
    """With the default limits, the 11th request within a second gets 429 Fault 3001; 500 per minute holds."""
    with (
        start_erp() as srv,
        httpx.Client(base_url=f"{srv.url}/v3/company/1", headers=AUTH) as client,
    ):
        codes = [client.get("/customer/1").status_code for _ in range(11)]
        assert codes[:10] == [400] * 10
        assert codes[10] == 429
        assert fault_code(client.get("/customer/1")) == "3001"
    with (
        start_erp(ErpConfig(per_second=10_000)) as srv,
        httpx.Client(base_url=f"{srv.url}/v3/company/2", headers=AUTH) as client,
    ):
        codes = [client.get("/customer/1").status_code for _ in range(501)]
        assert codes.count(429) == 1
        assert codes[-1] == 429
