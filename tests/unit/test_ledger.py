"""A general ledger's Debit and Credit columns as the revenue ([transactions.columns]
debit_amount and credit_amount, [transactions] ledger_sale_side): the French FEC and a
Wave-style general ledger through ``tierwise init`` and the run, each customer's revenue
summed by hand; the warnings of a side taken by default or booked the other way.

The engines' reading of the two columns (DuckDB and Spark) is in test_validate_engines.py;
a Debit holding text, in the bad-input corpus."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from init_support import guess_file, init_file
from tierwise.api import validate
from tierwise.engine import Engine
from tierwise.errors import SettingsError
from tierwise.pipeline import load_and_validate
from tierwise.settings import Settings, load_settings

_CUSTOMERS = [("C0001", "DUPONT SA"), ("C0002", "MARTIN SARL"), ("C0003", "BERNARD & FILS")]
_NETS = [1000.0, 250.5, 4200.0]


def _french(v: float) -> str:
    """An amount as a French FEC writes it: a space between thousands, a decimal comma."""
    return f"{v:,.2f}".replace(",", " ").replace(".", ",")


def _side(v: float, empty: str) -> str:
    """One side of an FEC line: its amount, or ``empty`` where it has none."""
    return _french(v) if v else empty


def _fec(empty: str = "0,00") -> tuple[str, dict[str, float]]:
    """An FEC (';'-separated, decimal commas, dates YYYYMMDD): each invoice a debit on the
    customer's account (411, its auxiliary account the customer), credits on sales (706) and
    VAT (44571) in the sales journal VE; every tenth a credit note, booked the other way;
    every third invoice paid, in the bank's journal BQ (a credit on the customer's account);
    and each customer's revenue as summed by hand: the 411 lines of VE, invoices less credit
    notes, VAT included. ``empty`` is written for a side with no amount: "0,00", or "" as
    most FECs write it, where each credit note is two lines, its VAT left out."""
    rows = [
        "JournalCode;JournalLib;EcritureNum;EcritureDate;CompteNum;CompteLib;CompAuxNum;"
        "CompAuxLib;PieceRef;PieceDate;EcritureLib;Debit;Credit;EcritureLet;DateLet;"
        "ValidDate;Montantdevise;Idevise"
    ]
    expected: dict[str, float] = {}
    n = 0
    for i in range(30):
        aux, name = _CUSTOMERS[i % 3]
        net = _NETS[i % 3]
        vat = round(net * 0.2, 2)
        gross = net + vat
        credit_note = i % 10 == 9
        day = f"2024{i % 12 + 1:02d}{i % 27 + 1:02d}"
        expected[aux] = expected.get(aux, 0.0) + (-gross if credit_note else gross)
        lines = [
            ("411000", "Clients", aux, name, gross, 0.0),
            ("706000", "Prestations de services", "", "", 0.0, net),
            ("445710", "TVA collectée", "", "", 0.0, vat),
        ]
        if credit_note:
            lines = [(a, b, c, d, credit, debit) for a, b, c, d, debit, credit in lines]
            if not empty:
                # no VAT on it: the customer's account credited with the net
                expected[aux] += vat
                lines = [
                    ("411000", "Clients", aux, name, 0.0, net),
                    ("706000", "Prestations de services", "", "", net, 0.0),
                ]
        n += 1
        label = f"{'Avoir' if credit_note else 'Facture'} {name}"
        for account, title, a, nm, debit, credit in lines:
            rows.append(
                f"VE;Ventes;VE{n:05d};{day};{account};{title};{a};{nm};F{2024000 + i};{day};"
                f"{label};{_side(debit, empty)};{_side(credit, empty)};;;{day};;"
            )
        if i % 3 == 0:
            n += 1
            for account, title, a, nm, debit, credit in (
                ("512000", "Banque", "", "", gross, 0.0),
                ("411000", "Clients", aux, name, 0.0, gross),
            ):
                rows.append(
                    f"BQ;Banque;BQ{n:05d};{day};{account};{title};{a};{nm};VIR{i};{day};"
                    f"Règlement {name};{_side(debit, empty)};{_side(credit, empty)};;;{day};;"
                )
    return "\n".join(rows) + "\n", expected


@pytest.mark.parametrize("empty", ["0,00", ""], ids=["zeros", "empty_cells"])
def test_an_fec_through_init_and_a_run_gives_each_customers_revenue(
    tmp_path: Path, tierwise_cli: Any, empty: str
) -> None:
    text, expected = _fec(empty)
    path = tmp_path / "123456789FEC20241231.txt"
    path.write_text(text, encoding="utf-8")
    settings = tmp_path / "tierwise.toml"
    init = tierwise_cli("init", "--transactions", path, "--out", settings)
    assert init.exit_code == 0, init.output
    s = load_settings(settings).table_input("transactions")
    assert s.columns["debit_amount"] == "Debit" and s.columns["credit_amount"] == "Credit"
    assert s.columns["customer_id"] == "CompAuxNum"
    assert s.ledger_sale_side == "debit"
    assert s.keep_rows == {"JournalCode": ["VE"]}
    # the revenue and VAT lines keep no customer, and no line takes another's amount
    assert not s.fill_from_order
    run = tierwise_cli("run", "--config", settings)
    assert run.exit_code == 0, run.output
    got = pq.read_table(run.out_dir / "customers.parquet", columns=["customer_id", "revenue"])
    revenue = dict(zip(*got.to_pydict().values(), strict=True))
    assert revenue == pytest.approx(expected)
    manifest = json.loads((run.out_dir / "manifest.json").read_text(encoding="utf-8"))
    tx = manifest["inputs"]["transactions"]
    # 30 lines on the customers' accounts used; the bank's 20 lines and the sales
    # journal's 60 lines on revenue and VAT accounts (57 where the 3 credit notes have no
    # VAT line) rejected, each with its reason
    vat_less = 0 if empty else 3
    assert (tx["rows_read"], tx["rows_used"], tx["rows_rejected"]) == (
        110 - vat_less,
        30,
        80 - vat_less,
    )
    # the side was set by init: no warning of a default
    assert not any("ledger_sale_side" in w for w in manifest["warnings"])
    # keep_rows set by init: no warning of every line counted
    assert not any("every line of the ledger" in w for w in manifest["warnings"])


def test_an_fecs_note_says_its_revenue_includes_vat_and_its_net_route_gives_the_net(
    tmp_path: Path,
) -> None:
    text, _ = _fec("")
    g = guess_file(tmp_path, "123456789FEC20241231.txt", text)
    note = next(n for n in g.notes if n.startswith("an FEC"))
    assert "so the revenue includes VAT (tierwise's revenue is otherwise before tax)" in note
    assert 'set ledger_sale_side = "credit" and fill_from_order = ["CompAuxNum"]' in note
    assert 'add "CompteNum" = ["706000", …]' in note
    # the route the note gives: each customer's revenue net of VAT, credit notes deducted
    init_file(tmp_path, "123456789FEC20241231.txt", text)
    net = load_settings(tmp_path / "tierwise.toml").with_updates(
        transactions={
            "ledger_sale_side": "credit",
            "fill_from_order": ["CompAuxNum"],
            "keep_rows": {"JournalCode": ["VE"], "CompteNum": ["706000"]},
        }
    )
    v = validate(None, settings=net)["transactions"]
    sums: dict[str, float] = {}
    for row in v.table.select(["customer_id", "revenue"]).to_pylist():
        sums[row["customer_id"]] = sums.get(row["customer_id"], 0.0) + row["revenue"]
    expected: dict[str, float] = {}
    for i in range(30):
        aux, value = _CUSTOMERS[i % 3][0], _NETS[i % 3]
        expected[aux] = expected.get(aux, 0.0) + (-value if i % 10 == 9 else value)
    assert sums == pytest.approx(expected)


def _wave() -> tuple[str, dict[str, float]]:
    """A Wave-style general ledger: each invoice a credit to Sales and a debit to Accounts
    Receivable, a credit note the other way round, a payment a debit to Cash on Hand and a
    credit to Accounts Receivable, every line naming its contact; and each customer's
    revenue as summed by hand: the Sales lines, invoices less credit notes."""
    rows = ["Date,Account,Contact,Description,Debit,Credit"]
    expected: dict[str, float] = {}
    contacts = ["Acme Corp", "Globex Ltd", "Initech"]
    for i in range(30):
        c = contacts[i % 3]
        amount = f'"{[1200.0, 350.25, 4999.99][i % 3]:,.2f}"'
        day = f"2024-{i % 12 + 1:02d}-{i % 27 + 1:02d}"
        value = [1200.0, 350.25, 4999.99][i % 3]
        if i % 10 == 9:
            expected[c] = expected.get(c, 0.0) - value
            rows.append(f"{day},Sales,{c},Credit Note CN-{i},{amount},")
            rows.append(f"{day},Accounts Receivable,{c},Credit Note CN-{i},,{amount}")
        else:
            expected[c] = expected.get(c, 0.0) + value
            rows.append(f"{day},Sales,{c},Invoice INV-{1000 + i},,{amount}")
            rows.append(f"{day},Accounts Receivable,{c},Invoice INV-{1000 + i},{amount},")
        if i % 4 == 0:
            rows.append(f"{day},Cash on Hand,{c},Payment INV-{1000 + i},{amount},")
            rows.append(f"{day},Accounts Receivable,{c},Payment INV-{1000 + i},,{amount}")
    return "\n".join(rows) + "\n", expected


def test_a_wave_general_ledger_through_init_and_validate_gives_each_customers_revenue(
    tmp_path: Path,
) -> None:
    text, expected = _wave()
    _, parsed = init_file(tmp_path, "general_ledger.csv", text)
    section = parsed["transactions"]
    assert isinstance(section, dict)
    # the account is the ledger's, the contact the customer; a sale is a credit on Sales
    assert section["columns"]["customer_id"] == "Contact"
    assert section["columns"]["debit_amount"] == "Debit"
    assert section["ledger_sale_side"] == "credit"
    assert section["keep_rows"] == {"Account": ["Sales"]}
    settings = load_settings(tmp_path / "tierwise.toml")
    v = validate(None, settings=settings)["transactions"]
    sums: dict[str, float] = {}
    for row in v.table.select(["customer_id", "revenue"]).to_pylist():
        sums[row["customer_id"]] = sums.get(row["customer_id"], 0.0) + row["revenue"]
    assert sums == pytest.approx(expected)
    reasons = set(v.rejects.column("reason").to_pylist())
    assert reasons == {"not kept by [transactions] keep_rows (Account: 'Sales')"}


def _warnings(tmp_path: Path, text: str, transactions: dict[str, Any]) -> list[str]:
    path = tmp_path / "gl.csv"
    path.write_text(text, encoding="utf-8")
    settings = Settings().with_updates(transactions=transactions)
    engine = Engine()
    with engine.session():
        ctx = load_and_validate({"transactions": path}, settings, engine, today=dt.date(2025, 1, 1))
    return ctx.warnings


def test_the_side_taken_by_default_and_sales_booked_the_other_way_are_warned_of(
    tmp_path: Path,
) -> None:
    # 60 lines of a revenue account, each sale a credit: read with the default side, every
    # line is a return
    text = "Date,Contact,Debit,Credit\n" + "".join(
        f"2024-03-{i % 28 + 1:02d},Firm {i % 5},,{100 + i}.00\n" for i in range(60)
    )
    columns = {"customer_id": "Contact", "debit_amount": "Debit", "credit_amount": "Credit"}
    ledger = {"columns": columns}
    warned = _warnings(tmp_path, text, ledger)
    default = next(w for w in warned if "revenue is 'Debit' − 'Credit'" in w)
    assert 'set [transactions] ledger_sale_side = "credit"' in default
    other = next(w for w in warned if "60 of the 60 lines" in w)
    assert "sales on the debit side" in other
    assert (
        "the lines may book them on the credit side (revenue accounts); "
        'set [transactions] ledger_sale_side = "credit"'
    ) in other
    assert 'set [transactions] ledger_sale_side = "credit"' in other
    # set: neither warning
    warned = _warnings(tmp_path, text, {**ledger, "ledger_sale_side": "credit"})
    assert not any("ledger_sale_side" in w for w in warned)
    # the credit side set for lines of customers' accounts, each sale a debit
    debits = "Date,Contact,Debit,Credit\n" + "".join(
        f"2024-03-{i % 28 + 1:02d},Firm {i % 5},{100 + i}.00,\n" for i in range(60)
    )
    warned = _warnings(tmp_path, debits, {**ledger, "ledger_sale_side": "credit"})
    other = next(w for w in warned if "60 of the 60 lines" in w)
    assert (
        "the lines may book them on the debit side (customers' accounts); "
        'set [transactions] ledger_sale_side = "debit"'
    ) in other


def test_a_ledger_read_whole_without_keep_rows_is_warned_of(tmp_path: Path) -> None:
    # an Odoo partner ledger: customers' invoices and payments, and suppliers' bills
    rows = ["Date,Partner,Debit,Credit,Balance"]
    for i in range(40):
        day = f"2024-03-{i % 28 + 1:02d}"
        rows.append(f"{day},C{i % 5:03d},{100 + i}.00,,{100 + i}.00")
        rows.append(f"{day},C{i % 5:03d},,{100 + i}.00,0.00")
        rows.append(f"{day},F{i % 5:03d},,{50 + i}.00,-{50 + i}.00")
    text = "\n".join(rows) + "\n"
    columns = {
        "date": "Date",
        "customer_id": "Partner",
        "debit_amount": "Debit",
        "credit_amount": "Credit",
    }
    ledger = {"columns": columns, "ledger_sale_side": "debit"}
    whole = "revenue is read from 'Debit' and 'Credit' on every line of the ledger"
    warned = _warnings(tmp_path, text, ledger)
    said = next(w for w in warned if whole in w)
    assert "payments received, bank and supplier lines included" in said
    assert "[transactions] keep_rows" in said
    for rows_kept in (
        {"keep_rows": {"Partner": ["C000"]}},
        {"exclude_rows": {"Partner": ["F000"]}},
    ):
        warned = _warnings(tmp_path, text, {**ledger, **rows_kept})
        assert not any(whole in w for w in warned)


def test_a_customer_named_with_a_word_of_sales_is_no_ledger_account(tmp_path: Path) -> None:
    # the customer column of a ledger export, one customer's name holding "Sales": still
    # the customer, and nothing tells the side
    names = ["Acme Sales Inc", "Globex", "Initech", "Umbrella", "Hooli"]
    text = "Date,Account Name,Debit,Credit\n" + "".join(
        f"2024-03-{i % 28 + 1:02d},{names[i % 5]},"
        + (f",{i}.00" if i % 7 == 6 else f"{i}.00,")
        + "\n"
        for i in range(30)
    )
    g = guess_file(tmp_path, "ledger.csv", text)
    assert g.mapping()["customer_id"] == "Account Name"
    assert "ledger_sale_side" not in g.options
    assert any("Nothing in the sample tells which" in n for n in g.notes)


def test_a_revenue_mapped_beside_the_pair_is_read_and_the_pair_said_unused(
    tmp_path: Path,
) -> None:
    text = "Date,Contact,Amount,Debit,Credit\n2024-03-01,A,10.00,10.00,\n"
    columns = {
        "customer_id": "Contact",
        "revenue": "Amount",
        "debit_amount": "Debit",
        "credit_amount": "Credit",
    }
    warned = _warnings(tmp_path, text, {"columns": columns})
    said = next(w for w in warned if "are mapped too but not used" in w)
    assert "revenue is read from 'Amount'" in said
    assert not any("ledger_sale_side" in w for w in warned)


def test_a_debit_or_credit_filled_from_the_order_is_refused(tmp_path: Path) -> None:
    text = "Date,Ref,Contact,Debit,Credit\n2024-03-01,A1,Firm 1,120.00,\n2024-03-01,A1,,,100.00\n"
    path = tmp_path / "gl.csv"
    path.write_text(text, encoding="utf-8")
    columns = {
        "date": "Date",
        "order_id": "Ref",
        "customer_id": "Contact",
        "debit_amount": "Debit",
        "credit_amount": "Credit",
    }
    for side in ("Debit", "Credit"):
        settings = Settings().with_updates(
            transactions={"columns": columns, "fill_from_order": ["Contact", side]}
        )
        with pytest.raises(SettingsError, match=rf"fill_from_order: '{side}' is the"):
            validate(path, settings=settings)
