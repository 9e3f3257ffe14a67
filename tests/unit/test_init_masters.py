"""``tierwise init`` on the inputs beside the invoices as real systems export them: customer
masters (Salesforce, HubSpot, Dynamics 365, Pipedrive, SAP, Odoo), activities (Salesforce,
HubSpot, Pipedrive, an Outlook calendar), payments (an open-items report, QuickBooks,
Stripe) and reps (an HR list, Salesforce users).

Each test writes a few rows as the named system writes them and checks what init maps
where it misread the real export.
"""

from __future__ import annotations

import csv
from pathlib import Path

from tierwise.io.sample import read_sample
from tierwise.settings._guess import TableGuess, guess_table

_OWNERS = ("Jane Smith", "Bob Lee", "Ann Wu")
_NAMES = ("Acme Corp", "Globex Inc", "Initech", "Umbrella LLC", "Hooli", "Wonka Foods")


def _guess(tmp_path: Path, table: str, name: str, rows: list[list[str]]) -> TableGuess:
    """The guesses for a file of ``table`` holding ``rows`` (the header first)."""
    path = tmp_path / name
    with path.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return guess_table(table, read_sample(path, name=table))


# -- activities ------------------------------------------------------------------------------


def _salesforce_activities(with_account: bool = True) -> list[list[str]]:
    """A Salesforce Activities report: Task is 1 for a task, 0 for an event."""
    header = ["Subject", "Type", "Date", "Account Name", "Assigned", "Status", "Task"]
    rows = [header if with_account else [h for h in header if h != "Account Name"]]
    for i in range(24):
        row = [
            f"Follow-up {i}",
            ("Call", "Email", "Meeting")[i % 3],
            f"{i % 12 + 1}/{i % 28 + 1}/2024",
            _NAMES[i % 6],
            _OWNERS[i % 3],
            "Completed",
            "0" if i % 3 == 2 else "1",
        ]
        rows.append(row if with_account else row[:3] + row[4:])
    return rows


def test_salesforce_activities_name_the_account_as_the_customer(tmp_path: Path) -> None:
    g = _guess(tmp_path, "activities", "activities.csv", _salesforce_activities())
    assert g.mapping()["customer_id"] == "Account Name"
    assert g.mapping()["rep_id"] == "Assigned"


def test_a_flag_of_ones_and_zeros_is_not_taken_as_the_customer(tmp_path: Path) -> None:
    # the report without its account column: Task (1 or 0) would put every task on customer
    # 1 and every event on customer 0
    g = _guess(tmp_path, "activities", "activities.csv", _salesforce_activities(False))
    assert "customer_id" not in g.mapping()
    assert "customer_id" in dict(g.missing)


def test_pipedrive_activities_are_with_their_organization(tmp_path: Path) -> None:
    rows = [
        [
            "Activity - Subject",
            "Activity - Type",
            "Activity - Done",
            "Activity - Due date",
            "Activity - Duration",
            "Activity - Organization",
            "Activity - Assigned to user",
        ]
    ]
    for i in range(20):
        rows.append(
            [
                f"Call {i}",
                ("Call", "Meeting", "Email")[i % 3],
                "Done",
                f"2024-0{i % 9 + 1}-{i % 28 + 1:02d}",
                "00:30",
                _NAMES[i % 6],
                _OWNERS[i % 3],
            ]
        )
    g = _guess(tmp_path, "activities", "activities.csv", rows)
    assert g.mapping()["customer_id"] == "Activity - Organization"
    assert g.mapping()["rep_id"] == "Activity - Assigned to user"


# -- customer masters ------------------------------------------------------------------------


def test_pipedrive_organizations_keep_their_industry_owner_and_address(tmp_path: Path) -> None:
    rows = [
        [
            "Organization - ID",
            "Organization - Name",
            "Organization - Owner",
            "Organization - Address",
            "Organization - Industry",
            "Organization - Annual revenue",
        ]
    ]
    for i in range(12):
        rows.append(
            [
                str(i + 1),
                _NAMES[i % 6] + f" {i}",
                _OWNERS[i % 3],
                f"{i + 1} Main St, Chicago, IL 60601, USA",
                ("Retail", "Manufacturing", "Software")[i % 3],
                str((i + 1) * 100000),
            ]
        )
    g = _guess(tmp_path, "customers", "organizations.csv", rows)
    assert g.mapping() == {
        "customer_id": "Organization - ID",
        "name": "Organization - Name",
        "address": "Organization - Address",
        "industry": "Organization - Industry",
        "annual_revenue": "Organization - Annual revenue",
        "rep_id": "Organization - Owner",
    }


def test_hubspot_companies_give_the_company_owner_as_the_rep(tmp_path: Path) -> None:
    rows = [["Record ID", "Company name", "Company owner", "Industry", "Phone Number"]]
    for i in range(12):
        rows.append(
            [
                str(5012345678 + i * 17),
                _NAMES[i % 6] + f" {i}",
                _OWNERS[i % 3],
                ("COMPUTER_SOFTWARE", "MACHINERY", "RETAIL")[i % 3],
                f"+1 617 555 01{i:02d}",
            ]
        )
    g = _guess(tmp_path, "customers", "hubspot-crm-exports-all-companies.csv", rows)
    assert g.mapping()["rep_id"] == "Company owner"
    assert g.mapping()["customer_id"] == "Record ID"


# -- reps ------------------------------------------------------------------------------------


def test_a_team_list_names_each_rep_by_name(tmp_path: Path) -> None:
    rows = [["Name", "E-mail", "Region", "Start date", "FTE"]]
    for i, name in enumerate(("Jane Smith", "Bob Lee", "Ann Wu", "Carl Diaz", "Eve Park")):
        first = name.split()[0].lower()
        rows.append([name, f"{first}@acme.com", "West", f"0{i + 1}/03/2019", "1"])
    g = _guess(tmp_path, "reps", "team.csv", rows)
    assert g.mapping()["rep_id"] == "Name"


def test_salesforce_users_are_their_full_names_not_their_empty_manager(tmp_path: Path) -> None:
    rows = [["User ID", "Full Name", "Username", "Email", "Role", "Active", "Manager"]]
    for i, name in enumerate(("Jane Smith", "Bob Lee", "Ann Wu", "Carl Diaz", "Eve Park")):
        first = name.split()[0].lower()
        rows.append(
            [
                f"005Dn000000{i:04d}IAQ",
                name,
                f"{first}@acme.com.prod",
                f"{first}@acme.com",
                "Sales Rep",
                "1",
                "",
            ]
        )
    g = _guess(tmp_path, "reps", "users.csv", rows)
    assert g.mapping()["rep_id"] == "Full Name"
    assert "empty" in dict(g.unmapped)["Manager"]


def test_odoo_contacts_give_the_display_name(tmp_path: Path) -> None:
    rows = [["Display Name", "Is a Company", "Email", "City", "Salesperson", "ID"]]
    for i in range(12):
        rows.append(
            [
                _NAMES[i % 6] + f" {i}",
                "True",
                f"info{i}@example.com",
                "Brussels",
                _OWNERS[i % 3],
                f"__export__.res_partner_{i + 10}",
            ]
        )
    g = _guess(tmp_path, "customers", "res.partner.csv", rows)
    assert g.mapping()["name"] == "Display Name"


def test_a_share_of_full_time_is_said_to_be_no_hours(tmp_path: Path) -> None:
    rows = [["Name", "Region", "FTE"]]
    for i, name in enumerate(("Jane Smith", "Bob Lee", "Ann Wu", "Carl Diaz", "Eve Park")):
        rows.append([name, "West", ("1", "0.8", "1.0", "0.5", "1")[i]])
    g = _guess(tmp_path, "reps", "team.csv", rows)
    assert "hours_per_year" not in g.mapping()
    assert dict(g.missing)["hours_per_year"].startswith(
        "'FTE' gives each rep's share of full time (1 = full time), not hours"
    )
    assert dict(g.unmapped)["FTE"].startswith("a share of full time, not hours")


def test_dynamics_accounts_last_change_is_not_their_creation(tmp_path: Path) -> None:
    rows = [
        [
            "(Do Not Modify) Account",
            "(Do Not Modify) Row Checksum",
            "(Do Not Modify) Modified On",
            "Account Name",
            "Address 1: City",
            "Account Number",
            "Industry",
        ]
    ]
    for i in range(12):
        rows.append(
            [
                f"a1b2c3d4-0000-0000-0000-{i:012d}",
                "abcXYZ==",
                f"2024-03-{i + 1:02d} 10:00",
                _NAMES[i % 6] + f" {i}",
                "Seattle",
                f"ACC-{1000 + i}",
                "Consulting",
            ]
        )
    g = _guess(tmp_path, "customers", "Active Accounts.csv", rows)
    assert "created_date" not in g.mapping()
    assert g.mapping()["customer_id"] == "Account Number"


def test_odoo_contacts_leave_out_the_people_beside_their_companies(tmp_path: Path) -> None:
    rows = [["Display Name", "Is a Company", "Related Company", "Email", "ID"]]
    for i in range(6):
        company = _NAMES[i]
        rows.append([company, "True", "", f"info{i}@example.com", f"res_partner_{i + 10}"])
        rows.append([f"{company}, Person {i}", "False", company, f"p{i}@example.com", f"p_{i}"])
    g = _guess(tmp_path, "customers", "res.partner.csv", rows)
    assert g.options["exclude_rows"][0] == {"Is a Company": ("False",)}
    assert any(n.startswith("'Is a Company' holds False (6) among 12") for n in g.notes)


def test_odoo_consumer_contacts_are_all_kept(tmp_path: Path) -> None:
    rows = [["Display Name", "Is a Company", "Email", "City", "ID"]]
    for i in range(12):
        rows.append([f"Person {i}", "False", f"p{i}@example.com", "Brussels", f"res_partner_{i}"])
    g = _guess(tmp_path, "customers", "res.partner.csv", rows)
    assert "exclude_rows" not in g.options


def test_odoo_private_customers_without_a_company_are_kept_with_a_note(tmp_path: Path) -> None:
    rows = [["Display Name", "Is a Company", "Related Company", "Email", "ID"]]
    for i in range(6):
        rows.append([_NAMES[i], "True", "", f"info{i}@example.com", f"c_{i}"])
        rows.append([f"Jo Private {i}", "False", "", f"jo{i}@example.com", f"p_{i}"])
    g = _guess(tmp_path, "customers", "res.partner.csv", rows)
    assert "exclude_rows" not in g.options
    assert any(
        n.startswith("'Is a Company' holds False (6) among 12 sampled rows, not all of them")
        for n in g.notes
    )


def test_a_company_flag_of_another_meaning_leaves_no_rows_out(tmp_path: Path) -> None:
    rows = [["Name", "Is Company Active", "Parent Company", "ID"]]
    for i in range(6):
        rows.append([_NAMES[i], "True", "", f"c_{i}"])
        rows.append([f"{_NAMES[i]} West", "False", _NAMES[i], f"w_{i}"])
    g = _guess(tmp_path, "customers", "accounts.csv", rows)
    assert "exclude_rows" not in g.options


def test_pipedrive_organizations_keep_their_phone_email_employees_and_region(
    tmp_path: Path,
) -> None:
    rows = [
        [
            "Organization - ID",
            "Organization - Name",
            "Organization - Phone",
            "Organization - Email",
            "Organization - Number of employees",
            "Organization - Region",
        ]
    ]
    for i in range(12):
        rows.append(
            [
                str(i + 1),
                _NAMES[i % 6] + f" {i}",
                f"+1 312 555 01{i:02d}",
                f"info{i}@example.com",
                str((i + 1) * 10),
                ("West", "East", "North")[i % 3],
            ]
        )
    g = _guess(tmp_path, "customers", "organizations.csv", rows)
    assert g.mapping() == {
        "customer_id": "Organization - ID",
        "name": "Organization - Name",
        "phone": "Organization - Phone",
        "email": "Organization - Email",
        "employees": "Organization - Number of employees",
        "region": "Organization - Region",
    }


def _odoo_payments(customer: str) -> list[list[str]]:
    """An Odoo payments export of a seller (My Company SA) with one company of its own."""
    rows = [["Date", "Number", customer, "Company", "Amount", "Due Date"]]
    for i in range(12):
        rows.append(
            [
                f"2024-01-{i + 1:02d}",
                f"PBNK1/2024/{i:05d}",
                _NAMES[i % 6],
                "My Company SA",
                "100",
                f"2024-02-{i + 1:02d}",
            ]
        )
    return rows


def test_odoo_payments_own_company_is_not_the_customer(tmp_path: Path) -> None:
    g = _guess(tmp_path, "payments", "account.payment.csv", _odoo_payments("Customer/Vendor"))
    assert g.mapping().get("customer_id") != "Company"


def test_an_activities_organization_of_one_value_is_not_the_customer(tmp_path: Path) -> None:
    rows = [["Activity - Subject", "Activity - Due date", "Activity - Organization"]]
    for i in range(12):
        rows.append([f"Call {i}", f"2024-01-{i + 1:02d}", "My Company SA"])
    g = _guess(tmp_path, "activities", "activities.csv", rows)
    assert "customer_id" not in g.mapping()


def test_a_payments_company_alone_is_not_the_customer(tmp_path: Path) -> None:
    rows = [["Date", "Number", "Company", "Amount"]]
    for i in range(12):
        rows.append([f"2024-01-{i + 1:02d}", f"P{i}", _NAMES[i % 6], "100"])
    g = _guess(tmp_path, "payments", "payments.csv", rows)
    assert "customer_id" not in g.mapping()
