"""``tierwise init`` on real-looking exports: every column guessed right, the file runs.

Each export below is a few rows under a header as the named system or country writes it.
The expected mapping lists every column of the file: the canonical column it is, or ``None``
for a column that is no column of that input (it must be left out, and listed as such). The
comment above each export states how many of its columns the guesser gets right; the test
fails if one is wrong.
"""

from __future__ import annotations

import datetime as dt
import shlex
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tierwise.api import validate
from tierwise.errors import InputError
from tierwise.io.sample import read_sample
from tierwise.pipeline import run_pipeline
from tierwise.schema import TABLES
from tierwise.settings import Settings, load_settings
from tierwise.settings._guess import guess_table, profile
from tierwise.settings._words import words
from tierwise.settings.template import closing_hint, init_settings, settings_template


@dataclass(frozen=True)
class Export:
    table: str
    file: str
    text: str
    #: every column of the file → its canonical column, or None (not a column of the table)
    expected: dict[str, str | None]
    encoding: str = "utf-8"
    #: reading options the sample must call for (a list of words as a tuple)
    options: tuple[tuple[str, str | tuple[str, ...]], ...] = ()


# 6 of 6 right: 5 mapped, Ort left out as a customers column. Windows-1252, decimal commas.
GERMAN = Export(
    "transactions",
    "rechnungen.csv",
    "Kundennummer;Rechnungsdatum;Artikelnummer;Menge;Umsatz;Ort\n"
    "K1001;02.01.2024;A-17;3;125,50;Köln\n"
    "K1001;15.01.2024;A-18;1;9,99;Köln\n"
    "K1002;03.02.2024;B-01;12;1.234,00;Düsseldorf\n"
    "K1003;04.02.2024;A-17;2;80,00;Essen\n"
    "K1002;28.03.2024;A-18;5;49,95;Düsseldorf\n",
    {
        "Kundennummer": "customer_id",
        "Rechnungsdatum": "date",
        "Artikelnummer": "product_id",
        "Menge": "quantity",
        "Umsatz": "revenue",
        "Ort": None,
    },
    encoding="cp1252",
)

# 7 of 7 right (AdventureWorks FactResellerSales, the columns of a reseller export).
ADVENTUREWORKS = Export(
    "transactions",
    "reseller_sales.csv",
    "ResellerKey,OrderDate,SalesOrderNumber,OrderQuantity,SalesAmount,TotalProductCost,"
    "ProductKey\n"
    "676,2010-12-29,SO43659,1,2024.994,1898.0944,349\n"
    "676,2010-12-29,SO43659,3,6074.982,5694.2832,350\n"
    "117,2010-12-29,SO43660,1,2039.994,1912.1544,351\n"
    "117,2011-01-29,SO43661,2,419.4589,413.1463,352\n"
    "442,2011-02-01,SO43662,6,874.794,747.9992,349\n",
    {
        "ResellerKey": "customer_id",
        "OrderDate": "date",
        "SalesOrderNumber": "order_id",
        "OrderQuantity": "quantity",
        "SalesAmount": "revenue",
        "TotalProductCost": "cost",
        "ProductKey": "product_id",
    },
)

_AW_FULL_HEADER = (
    "ProductKey,OrderDateKey,DueDateKey,ShipDateKey,ResellerKey,EmployeeKey,PromotionKey,"
    "CurrencyKey,SalesTerritoryKey,SalesOrderNumber,SalesOrderLineNumber,RevisionNumber,"
    "OrderQuantity,UnitPrice,ExtendedAmount,UnitPriceDiscountPct,DiscountAmount,"
    "ProductStandardCost,TotalProductCost,SalesAmount,TaxAmt,Freight,CarrierTrackingNumber,"
    "CustomerPONumber,OrderDate,DueDate,ShipDate"
)
# 27 of 27 right: the whole FactResellerSales table; 11 mapped (the per-unit standard cost
# as unit_cost beside the line's cost), 16 left out (keys of other dimensions, tax, freight,
# the discount percentage, due and ship dates, line and revision numbers).
ADVENTUREWORKS_FULL = Export(
    "transactions",
    "fact_reseller_sales.csv",
    _AW_FULL_HEADER + "\n"
    "349,20101229,20110110,20110105,676,285,1,100,5,SO43659,1,1,1,2024.994,2024.994,0,0,"
    "1898.0944,1898.0944,2024.994,161.9995,50.6249,4911-403C-98,PO522145787,2010-12-29,"
    "2011-01-10,2011-01-05\n"
    "350,20101229,20110110,20110105,676,285,1,100,5,SO43659,2,1,3,2024.994,6074.982,0.02,"
    "121.5,1898.0944,5694.2832,5953.482,485.9986,151.8746,4911-403C-98,PO522145787,"
    "2010-12-29,2011-01-10,2011-01-05\n"
    "351,20101229,20110110,20110105,117,285,1,100,5,SO43660,1,1,1,2039.994,2039.994,0,0,"
    "1912.1544,1912.1544,2039.994,163.1995,50.9999,6431-4D57-83,PO18850127500,2010-12-29,"
    "2011-01-10,2011-01-05\n",
    {
        "ProductKey": "product_id",
        "ResellerKey": "customer_id",
        "SalesOrderNumber": "order_id",
        "OrderQuantity": "quantity",
        "UnitPrice": "unit_price",
        "ExtendedAmount": "list_revenue",
        "DiscountAmount": "discount_amount",
        "TotalProductCost": "cost",
        "ProductStandardCost": "unit_cost",
        "SalesAmount": "revenue",
        "OrderDate": "date",
        **{
            c: None
            for c in _AW_FULL_HEADER.split(",")
            if c
            not in {
                "ProductKey",
                "ResellerKey",
                "SalesOrderNumber",
                "OrderQuantity",
                "UnitPrice",
                "ExtendedAmount",
                "DiscountAmount",
                "TotalProductCost",
                "ProductStandardCost",
                "SalesAmount",
                "OrderDate",
            }
        },
    },
)

# 8 of 8 right (the UCI "Online Retail" export): 6 mapped, Description and Country left out;
# no revenue column, so revenue is unit_price × quantity; dates month first.
ONLINE_RETAIL = Export(
    "transactions",
    "online_retail.csv",
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
    "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
    "536365,71053,WHITE METAL LANTERN,6,12/1/2010 8:26,3.39,17850,United Kingdom\n"
    "536366,22633,HAND WARMER UNION JACK,6,12/13/2010 8:28,1.85,17850,United Kingdom\n"
    "536367,84879,ASSORTED COLOUR BIRD ORNAMENT,32,12/1/2010 8:34,1.69,13047,United Kingdom\n"
    "536368,22960,JAM MAKING SET WITH JARS,6,1/4/2011 10:00,4.25,13047,United Kingdom\n",
    {
        "InvoiceNo": "order_id",
        "StockCode": "product_id",
        "Description": None,
        "Quantity": "quantity",
        "InvoiceDate": "date",
        "UnitPrice": "unit_price",
        "CustomerID": "customer_id",
        "Country": None,
    },
    options=(("date_format", "%m/%d/%Y %H:%M"),),
)

# 10 of 10 right: 9 mapped (Remise as a discount amount), Ville left out.
FRENCH = Export(
    "transactions",
    "factures.csv",
    "Code client;Date facture;N° facture;Référence article;Famille;Quantité;"
    "Prix unitaire HT;Remise;Montant HT;Ville\n"
    "C001;02/01/2024;F2024-001;ART-1;Outillage;3;12,50;1,50;36,00;Lyon\n"
    "C001;15/01/2024;F2024-002;ART-2;Quincaillerie;1;9,99;0,00;9,99;Lyon\n"
    "C002;23/02/2024;F2024-003;ART-1;Outillage;10;12,50;12,50;112,50;Paris\n",
    {
        "Code client": "customer_id",
        "Date facture": "date",
        "N° facture": "order_id",
        "Référence article": "product_id",
        "Famille": "product_category",
        "Quantité": "quantity",
        "Prix unitaire HT": "unit_price",
        "Remise": "discount_amount",
        "Montant HT": "revenue",
        "Ville": None,
    },
)

# 11 of 11 right: 10 mapped, Ciudad left out.
SPANISH = Export(
    "transactions",
    "ventas.csv",
    "ID Cliente;Fecha factura;Número de factura;Código producto;Categoría;Cantidad;"
    "Precio unitario;Descuento;Importe neto;Coste;Ciudad\n"
    "C-1;02/01/2024;FV-1;P1;Ferretería;3;12,50;1,50;36,00;20,10;Madrid\n"
    "C-1;15/01/2024;FV-2;P2;Jardín;1;9,99;0,00;9,99;5,25;Madrid\n"
    "C-2;23/02/2024;FV-3;P1;Ferretería;10;12,50;12,50;112,50;66,00;Sevilla\n",
    {
        "ID Cliente": "customer_id",
        "Fecha factura": "date",
        "Número de factura": "order_id",
        "Código producto": "product_id",
        "Categoría": "product_category",
        "Cantidad": "quantity",
        "Precio unitario": "unit_price",
        "Descuento": "discount_amount",
        "Importe neto": "revenue",
        "Coste": "cost",
        "Ciudad": None,
    },
)

# 10 of 10 right: 9 mapped ("Valoare fără TVA", value without VAT, as net revenue), Oraș
# left out. Comma-delimited with dot decimals.
ROMANIAN = Export(
    "transactions",
    "facturi.csv",
    "Cod client,Data facturii,Nr. factură,Cod produs,Categorie,Cantitate,Preț unitar,"
    "Valoare fără TVA,Cost achiziție,Oraș\n"
    "CL01,02.01.2024,FCT001,PR1,Scule,3,12.50,37.50,20.10,Cluj\n"
    "CL01,15.01.2024,FCT002,PR2,Gradina,1,9.99,9.99,5.25,Cluj\n"
    "CL02,23.02.2024,FCT003,PR1,Scule,10,12.50,125.00,66.00,Iasi\n",
    {
        "Cod client": "customer_id",
        "Data facturii": "date",
        "Nr. factură": "order_id",
        "Cod produs": "product_id",
        "Categorie": "product_category",
        "Cantitate": "quantity",
        "Preț unitar": "unit_price",
        "Valoare fără TVA": "revenue",
        "Cost achiziție": "cost",
        "Oraș": None,
    },
)

# 11 of 11 right: 10 mapped, Plaats left out; dates day-month-year with dashes, which the
# run's default formats do not read, so a date_format is written.
DUTCH = Export(
    "transactions",
    "facturen.csv",
    "Klantnummer;Factuurdatum;Factuurnummer;Artikelcode;Productgroep;Aantal;Stukprijs;"
    "Korting;Omzet;Inkoopwaarde;Plaats\n"
    "K01;02-01-2024;F1;A1;Gereedschap;3;12,50;1,50;36,00;20,10;Utrecht\n"
    "K01;15-01-2024;F2;A2;Tuin;1;9,99;0,00;9,99;5,25;Utrecht\n"
    "K02;23-02-2024;F3;A1;Gereedschap;10;12,50;12,50;112,50;66,00;Delft\n",
    {
        "Klantnummer": "customer_id",
        "Factuurdatum": "date",
        "Factuurnummer": "order_id",
        "Artikelcode": "product_id",
        "Productgroep": "product_category",
        "Aantal": "quantity",
        "Stukprijs": "unit_price",
        "Korting": "discount_amount",
        "Omzet": "revenue",
        "Inkoopwaarde": "cost",
        "Plaats": None,
    },
    # DD-MM-YYYY is among [validate] date_formats: no date_format to write
)

# 7 of 7 right: an SAP billing-document export under its field names.
SAP = Export(
    "transactions",
    "vbrp.csv",
    "VBELN;FKDAT;KUNAG;MATNR;MATKL;FKIMG;NETWR\n"
    "90001;02.01.2024;100001;M-1;G1;3;37,50\n"
    "90001;02.01.2024;100001;M-2;G2;1;9,99\n"
    "90002;03.01.2024;100002;M-1;G1;10;125,00\n",
    {
        "VBELN": "order_id",
        "FKDAT": "date",
        "KUNAG": "customer_id",
        "MATNR": "product_id",
        "MATKL": "product_category",
        "FKIMG": "quantity",
        "NETWR": "revenue",
    },
)

# 18 of 18 right: a German customer master; 17 mapped, the own column Kundenklasse left out.
GERMAN_CUSTOMERS = Export(
    "customers",
    "kunden.csv",
    "Kundennummer;Firma;Straße;PLZ;Ort;Land;Branche;Mitarbeiter;Jahresumsatz;Vertreter;"
    "Kunde seit;Zahlungsziel;USt-IdNr;Telefon;E-Mail;Breitengrad;Längengrad;Kundenklasse\n"
    "K1;Müller GmbH;Hauptstr. 1;50667;Köln;DE;Handel;12;1.200.000;R1;01.03.2015;30;DE123;"
    "0221 1234;info@mueller.de;50,94;6,96;A\n"
    "K2;Schmidt AG;Ring 2;53111;Bonn;DE;Bau;250;45.000.000;R2;15.06.2018;14;DE456;0228 999;"
    "kontakt@schmidt.de;50,73;7,10;B\n"
    "K3;Bauer KG;Weg 3;45127;Essen;DE;Handel;40;3.500.000;R1;20.01.2020;30;DE789;0201 555;"
    "mail@bauer.de;51,45;7,01;C\n",
    {
        "Kundennummer": "customer_id",
        "Firma": "name",
        "Straße": "address",
        "PLZ": "postcode",
        "Ort": "city",
        "Land": "country",
        "Branche": "industry",
        "Mitarbeiter": "employees",
        "Jahresumsatz": "annual_revenue",
        "Vertreter": "rep_id",
        "Kunde seit": "created_date",
        "Zahlungsziel": "payment_terms_days",
        "USt-IdNr": "tax_id",
        "Telefon": "phone",
        "E-Mail": "email",
        "Breitengrad": "lat",
        "Längengrad": "lon",
        "Kundenklasse": None,
    },
)

# 6 of 6 right: 5 mapped, the invoice date (no payments column) left out.
GERMAN_PAYMENTS = Export(
    "payments",
    "offene_posten.csv",
    "Rechnungsnummer;Kundennummer;Rechnungsdatum;Fälligkeitsdatum;Zahlungsdatum;"
    "Rechnungsbetrag\n"
    "R1;K1;02.01.2024;01.02.2024;30.01.2024;1.200,00\n"
    "R2;K1;03.02.2024;04.03.2024;;300,50\n"
    "R3;K2;05.02.2024;06.03.2024;10.03.2024;99,90\n",
    {
        "Rechnungsnummer": "invoice_id",
        "Kundennummer": "customer_id",
        "Rechnungsdatum": None,
        "Fälligkeitsdatum": "due_date",
        "Zahlungsdatum": "paid_date",
        "Rechnungsbetrag": "amount",
    },
)

# 6 of 6 right (a CRM activity export).
ACTIVITIES = Export(
    "activities",
    "crm_activities.csv",
    "Account Number,Activity Date,Activity Type,Duration (min),Cost,Account Manager\n"
    "C1,2024-01-02,visit,60,45.00,R1\n"
    "C1,2024-02-02,call,10,5.50,R1\n"
    "C2,2024-02-05,email,2,0.50,R2\n",
    {
        "Account Number": "customer_id",
        "Activity Date": "date",
        "Activity Type": "type",
        "Duration (min)": "duration_minutes",
        "Cost": "cost",
        "Account Manager": "rep_id",
    },
)

# 6 of 6 right.
REPS = Export(
    "reps",
    "vertrieb.csv",
    "Personalnummer;Rolle;Jahresstunden;Verkaufsgebiet;Wohnort Breite;Wohnort Länge\n"
    "R1;field;1600;Nord;52,1;9,5\n"
    "R2;inside;1700;Süd;48,1;11,5\n"
    "R3;key_account;1500;West;51,2;6,8\n",
    {
        "Personalnummer": "rep_id",
        "Rolle": "role",
        "Jahresstunden": "hours_per_year",
        "Verkaufsgebiet": "region",
        "Wohnort Breite": "home_lat",
        "Wohnort Länge": "home_lon",
    },
)

# 4 of 4 right.
MARKET = Export(
    "market",
    "marche.csv",
    "Secteur;Région;Taille du marché;Taux de croissance\n"
    "Commerce;Nord;1000000;0,03\n"
    "BTP;Sud;2500000;0,05\n"
    "Commerce;Sud;800000;-0,01\n",
    {
        "Secteur": "industry",
        "Région": "region",
        "Taille du marché": "market_size",
        "Taux de croissance": "growth_rate",
    },
)

# 4 of 4 right: growth written as percentages, which the run reads as fractions; French
# typography puts a narrow no-break space (U+202F) or a no-break space before the sign.
MARKET_PERCENT = Export(
    "market",
    "marche_pct.csv",
    "Secteur;Région;Taille du marché;Taux de croissance\n"
    "Commerce;Nord;1000000;3,5\u202f%\n"
    "BTP;Sud;2500000;5\u00a0%\n"
    "Commerce;Sud;800000;-1 %\n",
    {
        "Secteur": "industry",
        "Région": "region",
        "Taille du marché": "market_size",
        "Taux de croissance": "growth_rate",
    },
)

# 5 of 5 right: a CRM's call log with durations H:MM and H:MM:SS, read as minutes.
ACTIVITIES_CLOCK = Export(
    "activities",
    "calls.csv",
    "Account Number,Activity Date,Activity Type,Duration,Account Manager\n"
    "C1,2024-01-02,call,0:28,R1\n"
    "C1,2024-02-02,visit,1:05,R1\n"
    "C2,2024-02-05,call,0:04:30,R2\n",
    {
        "Account Number": "customer_id",
        "Activity Date": "date",
        "Activity Type": "type",
        "Duration": "duration_minutes",
        "Account Manager": "rep_id",
    },
)

# 3 of 3 right from the values alone: names that say nothing.
BY_VALUES = Export(
    "transactions",
    "export.csv",
    "F1;F2;F3\nK1;2024-01-02;10,50\nK1;2024-02-03;7,25\nK2;2024-02-05;99,90\nK3;2024-03-01;1,99\n",
    {"F1": "customer_id", "F2": "date", "F3": "revenue"},
)

# 6 of 6 right: an English accounting export that marks credit notes in a true/false column
# (the credit note's amount is positive, as the invoice's).
CREDIT_NOTES = Export(
    "transactions",
    "sales_lines.csv",
    "Customer No,Invoice Date,Invoice No,Item No,Net Amount,Credit Note\n"
    "C100,2024-01-02,INV-1,I-1,120.00,false\n"
    "C100,2024-01-09,CN-1,I-1,30.00,true\n"
    "C200,2024-02-01,INV-2,I-2,75.50,false\n"
    "C300,2024-02-03,INV-3,I-1,12.00,false\n",
    {
        "Customer No": "customer_id",
        "Invoice Date": "date",
        "Invoice No": "order_id",
        "Item No": "product_id",
        "Net Amount": "revenue",
        "Credit Note": "is_return",
    },
)

# 10 of 10 right: a Business Central sales-line export; the customer who ordered (Sell-to),
# not the one billed; the document type as is_return with its own words; the cost per unit
# as unit_cost (the line's cost is it times the quantity); the item number ("No.", which
# says nothing) left out; two-digit years, day first.
NAVISION = Export(
    "transactions",
    "sales_lines.csv",
    "Document Type;Document No.;Sell-to Customer No.;Bill-to Customer No.;Posting Date;No.;"
    "Quantity;Unit Price;Line Amount;Unit Cost (LCY)\n"
    "Invoice;103001;10000;20000;02.01.24;1896-S;2;120,50;241,00;80,10\n"
    "Credit Memo;104001;10000;20000;15.01.24;1896-S;1;120,50;120,50;80,10\n"
    "Invoice;103002;30000;30000;31.01.24;1900-S;3;10,00;30,00;6,25\n"
    "Invoice;103003;30000;30000;13.02.24;1900-S;1;10,00;10,00;6,25\n",
    {
        "Document Type": "is_return",
        "Document No.": "order_id",
        "Sell-to Customer No.": "customer_id",
        "Bill-to Customer No.": None,
        "Posting Date": "date",
        "No.": None,
        "Quantity": "quantity",
        "Unit Price": "unit_price",
        "Line Amount": "revenue",
        "Unit Cost (LCY)": "unit_cost",
    },
    options=(
        ("date_format", "%d.%m.%y"),
        ("true_values", ("Credit Memo",)),
        ("false_values", ("Invoice",)),
    ),
)

# 9 of 9 right: a US ERP's invoice lines; Ext Price is the line's amount (never a unit
# price), Ext. Cost its cost; dates month first with two-digit years; Type says which line
# is a credit memo.
US_ERP = Export(
    "transactions",
    "invoice_lines.csv",
    "Invoice #,Invoice Date,Cust #,Item,Qty,Unit Price,Ext Price,Ext. Cost,Type\n"
    "INV-1,1/2/24,C100,W-1,2,60.25,120.50,80.00,Invoice\n"
    "CM-1,1/15/24,C100,W-1,1,60.25,60.25,40.00,Credit Memo\n"
    "INV-2,2/13/24,C200,W-2,3,25.00,75.00,45.00,Invoice\n"
    "INV-3,12/31/24,C300,W-1,1,60.25,60.25,40.00,Invoice\n",
    {
        "Invoice #": "order_id",
        "Invoice Date": "date",
        "Cust #": "customer_id",
        "Item": "product_id",
        "Qty": "quantity",
        "Unit Price": "unit_price",
        "Ext Price": "revenue",
        "Ext. Cost": "cost",
        "Type": "is_return",
    },
    options=(
        ("date_format", "%m/%d/%y"),
        ("true_values", ("Credit Memo",)),
        ("false_values", ("Invoice",)),
    ),
)

# 10 of 10 right: QuickBooks' "Sales by Customer Detail" report as CSV; "Num" is the
# invoice's number, the running Balance and the Memo are no columns of the table.
QUICKBOOKS = Export(
    "transactions",
    "sales_by_customer_detail.csv",
    "Type,Date,Num,Memo,Customer,Item,Qty,Sales Price,Amount,Balance\n"
    "Invoice,01/02/2024,1001,Pipes,Blue Builders LLC,SKU-001,2,60.25,120.50,120.50\n"
    "Invoice,01/02/2024,1001,,Blue Builders LLC,SKU-007,1,15.00,15.00,135.50\n"
    "Credit Memo,01/15/2024,1002,Damaged,Blue Builders LLC,SKU-001,-1,60.25,-60.25,75.25\n"
    "Invoice,02/13/2024,1003,,Metro Roofing Inc.,SKU-002,3,25.00,75.00,75.00\n",
    {
        "Type": "is_return",
        "Date": "date",
        "Num": "order_id",
        "Memo": None,
        "Customer": "customer_id",
        "Item": "product_id",
        "Qty": "quantity",
        "Sales Price": "unit_price",
        "Amount": "revenue",
        "Balance": None,
    },
    options=(
        ("date_format", "%m/%d/%Y"),
        ("true_values", ("Credit Memo",)),
        ("false_values", ("Invoice",)),
    ),
)

# 8 of 8 right: an SAP billing export under its English headers; the Sold-To Party is the
# customer, not the Payer; the billing type holds SAP's codes, F2 an invoice and G2 a credit
# memo, which give the unsigned amounts their sign as is_return.
SAP_ENGLISH = Export(
    "transactions",
    "billing.csv",
    "Billing Document;Billing Type;Billing Date;Payer;Sold-To Party;Material;Billed Quantity;"
    "Net Value\n"
    "90001;F2;02.01.2024;200001;100001;M-1;3;37,50\n"
    "90002;G2;03.01.2024;200001;100001;M-2;1;9,99\n"
    "90003;F2;04.01.2024;200002;100002;M-1;10;125,00\n",
    {
        "Billing Document": "order_id",
        "Billing Type": "is_return",
        "Billing Date": "date",
        "Payer": None,
        "Sold-To Party": "customer_id",
        "Material": "product_id",
        "Billed Quantity": "quantity",
        "Net Value": "revenue",
    },
    options=(("true_values", ("G2",)), ("false_values", ("F2",))),
)

# 6 of 6 right: German open items with "Fällig am" and "Bezahlt am" (due on, paid on),
# two-digit years; the document date is no payments column.
GERMAN_PAYMENTS_AM = Export(
    "payments",
    "op_liste.csv",
    "Belegnummer;Debitor;Belegdatum;Fällig am;Bezahlt am;Betrag\n"
    "R1;K1001;02.01.24;01.02.24;30.01.24;1.200,00\n"
    "R2;K1001;03.02.24;04.03.24;;300,50\n"
    "R3;K1002;05.02.24;06.03.24;10.03.24;99,90\n",
    {
        "Belegnummer": "invoice_id",
        "Debitor": "customer_id",
        "Belegdatum": None,
        "Fällig am": "due_date",
        "Bezahlt am": "paid_date",
        "Betrag": "amount",
    },
    options=(("date_format", "%d.%m.%y"),),
)

# 4 of 4 right: a German customer list with "Angelegt am" (created on).
GERMAN_CUSTOMERS_AM = Export(
    "customers",
    "debitoren.csv",
    "Debitorennummer;Name;Ort;Angelegt am\n"
    "K1001;Müller GmbH;Köln;01.03.2015\n"
    "K1002;Schmidt AG;Düsseldorf;15.06.2018\n"
    "K1003;Bauer KG;Essen;20.01.2020\n",
    {
        "Debitorennummer": "customer_id",
        "Name": "name",
        "Ort": "city",
        "Angelegt am": "created_date",
    },
)

# 8 of 8 right: German invoice lines with the net amount, the VAT and the gross amount (net
# plus VAT), which is left out: taken as list_revenue, every line had the VAT as a discount.
GERMAN_GROSS = Export(
    "transactions",
    "umsatz.csv",
    "Kunde;Rechnungsdatum;Rechnungsnr.;Artikelnr.;Menge;Nettobetrag (EUR);MwSt (EUR);"
    "Bruttobetrag (EUR)\n"
    "K1001;02.01.2024;R-5001;A-17;3;125,50;23,85;149,35\n"
    "K1001;15.01.2024;R-5002;A-18;1;9,99;0,70;10,69\n"
    "K1002;03.02.2024;R-5003;B-01;12;1.234,00;234,46;1.468,46\n"
    "K1003;04.02.2024;R-5004;A-17;2;80,00;15,20;95,20\n"
    "K1002;28.03.2024;R-5005;A-18;5;49,95;9,49;59,44\n",
    {
        "Kunde": "customer_id",
        "Rechnungsdatum": "date",
        "Rechnungsnr.": "order_id",
        "Artikelnr.": "product_id",
        "Menge": "quantity",
        "Nettobetrag (EUR)": "revenue",
        "MwSt (EUR)": None,
        "Bruttobetrag (EUR)": None,
    },
    encoding="cp1252",
)

EXPORTS = {
    "german": GERMAN,
    "adventureworks": ADVENTUREWORKS,
    "adventureworks_full": ADVENTUREWORKS_FULL,
    "online_retail": ONLINE_RETAIL,
    "french": FRENCH,
    "spanish": SPANISH,
    "romanian": ROMANIAN,
    "dutch": DUTCH,
    "sap": SAP,
    "german_customers": GERMAN_CUSTOMERS,
    "german_payments": GERMAN_PAYMENTS,
    "activities": ACTIVITIES,
    "reps": REPS,
    "market": MARKET,
    "by_values": BY_VALUES,
    "credit_notes": CREDIT_NOTES,
    "market_percent": MARKET_PERCENT,
    "activities_clock": ACTIVITIES_CLOCK,
    "navision": NAVISION,
    "us_erp": US_ERP,
    "quickbooks": QUICKBOOKS,
    "sap_english": SAP_ENGLISH,
    "german_payments_am": GERMAN_PAYMENTS_AM,
    "german_customers_am": GERMAN_CUSTOMERS_AM,
    "german_gross": GERMAN_GROSS,
}


def _write(folder: Path, export: Export) -> Path:
    path = folder / export.file
    path.write_bytes(export.text.encode(export.encoding))
    return path


def _guessed(export: Export, path: Path) -> dict[str, str | None]:
    g = guess_table(export.table, read_sample(path, name=export.table))
    by_source: dict[str, str | None] = {s: None for s in g.source_columns}
    for c in g.columns:
        by_source[c.source] = c.canonical
    return by_source


@pytest.mark.parametrize("name", list(EXPORTS))
def test_init_guesses_every_column_of_a_real_export(name: str, tmp_path: Path) -> None:
    export = EXPORTS[name]
    path = _write(tmp_path, export)
    got = _guessed(export, path)
    wrong = {s: (got.get(s), want) for s, want in export.expected.items() if got.get(s) != want}
    right = len(export.expected) - len(wrong)
    assert not wrong, f"{right} of {len(export.expected)} right; wrong (got, want): {wrong}"
    # never one source column for two canonical columns, nor two for one
    mapped = [c for c in got.values() if c]
    assert len(mapped) == len(set(mapped))
    g = guess_table(export.table, read_sample(path, name=export.table))
    assert {k: v for k, (v, _) in g.options.items()} == dict(export.options)
    assert not g.missing


def test_a_gross_amount_of_net_plus_tax_says_why_it_is_no_list_revenue(tmp_path: Path) -> None:
    g = guess_table(
        "transactions", read_sample(_write(tmp_path, GERMAN_GROSS), name="transactions")
    )
    assert dict(g.unmapped)["Bruttobetrag (EUR)"] == (
        "reads as list_revenue, but is revenue 'Nettobetrag (EUR)' plus tax 'MwSt (EUR)' on 5 "
        "of 5 sampled rows: an amount including tax, not the price before discount"
    )


@pytest.mark.parametrize(
    ("order", "booked"),
    [
        ("Order Date", "Invoice Date"),
        ("Order Date", "Posting Date"),
        ("Auftragsdatum", "Belegdatum"),
    ],
)
def test_the_date_an_invoice_line_is_booked_on_comes_before_the_orders(
    tmp_path: Path, order: str, booked: str
) -> None:
    # an order placed in December and invoiced in January is January's revenue; the order's
    # date, first in the file, was taken for the line's date
    path = tmp_path / "lines.csv"
    path.write_text(
        f"Customer No.,{order},Ship Date,{booked},Amount\n"
        "C1,12/28/2023,01/03/2024,01/04/2024,120.00\n"
        "C1,01/15/2024,01/16/2024,01/17/2024,30.00\n"
        "C2,02/01/2024,02/05/2024,02/06/2024,75.50\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.mapping()["date"] == booked
    assert dict(g.unmapped)[order] == f"also reads as date, taken by {booked!r}"


def test_every_left_out_column_says_what_it_looks_like(tmp_path: Path) -> None:
    g = guess_table("transactions", read_sample(_write(tmp_path, GERMAN), name="transactions"))
    assert dict(g.unmapped) == {"Ort": "looks like city, a column of customers and prospects"}
    g = guess_table(
        "transactions", read_sample(_write(tmp_path, ADVENTUREWORKS_FULL), name="transactions")
    )
    notes = dict(g.unmapped)
    assert notes["OrderDateKey"] == "also reads as date, taken by 'OrderDate'"
    assert notes["DueDate"] == "looks like due_date, a column of payments"


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("Kundennummer", ["kunde", "nummer"]),
        ("Rechnungsdatum", ["rechnung", "datum"]),
        ("Warengruppe", ["ware", "gruppe"]),
        ("Factuurdatum", ["factuur", "datum"]),
        ("Klantnr", ["klant", "nr"]),
        ("SalesOrderNumber", ["sales", "order", "number"]),
        ("CustomerID", ["customer", "id"]),
        ("customer_no", ["customer", "no"]),
        ("invoicedate", ["invoice", "date"]),
        ("Betrag inkl. MwSt", ["betrag", "incltax"]),
        ("Montant hors taxe", ["montant", "net"]),
        ("Chiffre d'affaires", ["ca"]),
        ("Description", ["description"]),
    ],
)
def test_column_names_are_read_as_words(name: str, parts: list[str]) -> None:
    assert words(name) == parts


@pytest.mark.parametrize(
    "name",
    [
        "Credit Note",
        "Credit note",
        "CreditNote",
        "credit_note",
        "Credit Memo",
        "Is Return",
        "Return",
    ],
)
@pytest.mark.parametrize("flags", [("true", "false"), ("yes", "no"), ("Y", "N"), ("1", "0")])
def test_init_maps_an_english_credit_note_flag_to_is_return(
    name: str, flags: tuple[str, str], tmp_path: Path
) -> None:
    yes, no = flags
    path = tmp_path / "sales.csv"
    path.write_text(
        f"Customer No,Invoice Date,Net Amount,{name}\n"
        f"C1,2024-01-02,120.00,{no}\nC1,2024-01-09,30.00,{yes}\nC2,2024-02-01,75.50,{no}\n"
        f"C3,2024-02-03,12.00,{no}\n",
        encoding="utf-8",
    )
    result = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    guess = result.tables["transactions"].guessed("is_return")
    assert guess is not None and guess.source == name
    # written as a mapping, unless the run reads the column by its name ("Is Return")
    columns = tomllib.loads(result.text)["transactions"].get("columns", {})
    assert columns.get("is_return") == (None if guess.by_name else name)


def test_values_that_contradict_the_name_drop_the_guess(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Betrag\nA;Montag;10\nB;Dienstag;12\nC;Mittwoch;7\nA;Freitag;3\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.guessed("date") is None
    assert dict(g.unmapped)["Datum"] == (
        "the name reads as date, but the values are not dates (codes or words)"
    )
    assert [m for m, _ in g.missing] == ["date"]


def test_two_unnamed_money_columns_are_not_guessed_but_named(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;X1;X2\nA;2024-01-02;10,50;1,25\nA;2024-01-03;12,20;2,50\nB;2024-01-04;7,30;0,99\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.guessed("revenue") is None
    assert dict(g.missing)["revenue"] == (
        "by their values it could be 'X1' or 'X2'; nor unit_price and quantity to compute it from"
    )


def test_a_semicolon_file_with_dot_decimals_gets_decimal_dot(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    # 7.125 read with the ';' default (comma decimals) would be 7125
    path.write_text(
        "Kunde;Datum;Umsatz\nA;2024-01-02;12.5\nB;2024-01-03;7.125\nC;2024-01-04;3.99\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.options["decimal"][0] == "."


def test_a_comma_file_with_quoted_comma_decimals_gets_decimal_comma(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        'Kunde,Datum,Umsatz\nA,2024-01-02,"12,5"\nB,2024-01-03,"7,25"\nC,2024-01-04,"1,99"\n',
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.options["decimal"][0] == ","


def test_day_month_ambiguity_is_said_not_guessed(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Customer,Date,Amount\nA,01/02/2024,1.50\nB,03/04/2024,2.50\nC,05/06/2024,3.50\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert "date_format" not in g.options  # the default reads them day first
    assert any("day and month are both 12 or less" in n for n in g.notes)


def test_month_first_dates_with_a_12_hour_clock_get_their_format(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Customer,Date,Amount\nA,1/2/2023 12:00 AM,10\nA,1/13/2023 3:04 PM,20\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.options["date_format"][0] == "%m/%d/%Y %I:%M %p"


def test_a_large_csv_is_sampled_beyond_its_first_rows(tmp_path: Path) -> None:
    # 40,000 lines sorted by date, all in December at first: only rows further in show that
    # the dates are month first (12/1/2010 alone reads either way)
    n = 40_000
    head = ["12/1/2010 8:26"] * (n // 2)
    tail = [
        f"{m}/{d}/2011 9:00"
        for m, d in zip([1, 3, 6, 9] * (n // 8), [15, 20, 25, 28] * (n // 8), strict=True)
    ]
    lines = ["InvoiceNo,InvoiceDate,CustomerID,Revenue"]
    lines += [
        f"{536365 + i // 3},{d},{17850 + i % 50},{i % 97 + 0.5}" for i, d in enumerate(head + tail)
    ]
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    s = read_sample(path, rows=2000)
    assert s.table.num_rows <= 2000
    g = guess_table("transactions", s)
    assert g.options["date_format"][0] == "%m/%d/%Y %H:%M"


def test_a_workbook_of_formulas_without_stored_values_says_so(tmp_path: Path) -> None:
    # written by a program (openpyxl stores no formula's value) and never saved in Excel:
    # the run rejects every row, where init said only "no values in the sample"
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Kunde", "Datum", "Menge", "Preis", "Umsatz"])
    for r in range(2, 7):
        ws.append([f"K{r % 3}", dt.date(2024, 1, r), r, 9.5, f"=C{r}*D{r}"])
    path = tmp_path / "umsatz.xlsx"
    wb.save(path)
    g = guess_table("transactions", read_sample(path, name="transactions"))
    (said,) = [n for n in g.notes if "formula" in n]
    assert said.startswith(
        "5 of the 5 sampled rows of 'Umsatz' hold a formula without a stored value (the "
        "first: row 2, '=C2*D2'), and the run rejects such rows: open the workbook in Excel"
    )


def test_excel_and_parquet_are_sampled_and_guessed(tmp_path: Path) -> None:
    import pandas as pd

    xlsx = tmp_path / "rechnungen.xlsx"
    pd.DataFrame(
        {
            "Kundennummer": ["K1", "K1", "K2"],
            "Rechnungsdatum": [
                dt.datetime(2024, 1, 2),
                dt.datetime(2024, 2, 3),
                dt.datetime(2024, 3, 4),
            ],
            "Menge": [3, 1, 12],
            "Umsatz": [125.5, 9.99, 1234.0],
        }
    ).to_excel(xlsx, index=False)
    g = guess_table("transactions", read_sample(xlsx))
    assert g.mapping() == {
        "customer_id": "Kundennummer",
        "date": "Rechnungsdatum",
        "revenue": "Umsatz",
        "quantity": "Menge",
    }
    parquet = tmp_path / "sales.parquet"
    pq.write_table(
        pa.table(
            {
                "ResellerKey": pa.array([676, 676, 117], pa.int64()),
                "OrderDate": pa.array([dt.date(2010, 12, 29)] * 3, pa.date32()),
                "SalesAmount": [2024.994, 6074.982, 2039.994],
                "OrderQuantity": pa.array([1, 3, 1], pa.int32()),
            }
        ),
        parquet,
    )
    g = guess_table("transactions", read_sample(parquet))
    assert g.mapping() == {
        "customer_id": "ResellerKey",
        "date": "OrderDate",
        "revenue": "SalesAmount",
        "quantity": "OrderQuantity",
    }


def test_an_erp_report_with_a_title_row_is_sampled_below_it_and_guessed(tmp_path: Path) -> None:
    import openpyxl

    path = tmp_path / "item_ledger.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["Item Ledger Entries - CRONUS"])
    ws.append([])
    ws.append(["Customer No.", "Posting Date", "Amount (LCY)", "Cost Amount (Actual)"])
    for i in range(12):
        ws.append([f"{10000 + i % 4}", dt.datetime(2024, 1, 2 + i), 100.5 + i, 60.25 + i])
    wb.save(path)
    g = guess_table("transactions", read_sample(path))
    # the currency (LCY) and the booking word (Actual) qualify a money column
    assert g.mapping() == {
        "customer_id": "Customer No.",
        "date": "Posting Date",
        "revenue": "Amount (LCY)",
        "cost": "Cost Amount (Actual)",
    }
    # what init took for the title is said, as the run says it
    assert "the column names are in row 3 of the sheet: the rows above them (a title) are " in (
        " ".join(g.notes)
    )


def test_init_says_which_line_of_a_csv_report_holds_the_column_names(tmp_path: Path) -> None:
    path = tmp_path / "umsatz.csv"
    path.write_text(
        "Umsatzbericht 2024;;;\nGedruckt am 03.01.2025;;;\nKundennr;Datum;Betrag\n"
        "K1;02.01.2024;12,50\nK2;03.01.2024;7,00\nK1;04.01.2024;3,10\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.mapping() == {"customer_id": "Kundennr", "date": "Datum", "revenue": "Betrag"}
    assert (
        "the column names are on line 3: the 2 lines above them (a title: 'Umsatzbericht "
        "2024;;;', 'Gedruckt am 03.01.2025;;;') are not read; set header_row if another line "
        "holds them"
    ) in g.notes


def test_a_duckdb_file_with_one_table_is_read_from_it(tmp_path: Path) -> None:
    import duckdb

    db = tmp_path / "erp.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE TABLE sales (Kundennr VARCHAR, Datum DATE, Umsatz DOUBLE)")
        con.execute("INSERT INTO sales VALUES ('K1', DATE '2024-01-02', 10.5)")
    g = guess_table("transactions", read_sample(db, name="transactions"))
    assert g.options["table"][0] == "sales"
    assert g.mapping() == {"customer_id": "Kundennr", "date": "Datum", "revenue": "Umsatz"}


def _pg_with_password(url: str, password: str) -> str:
    scheme, rest = url.split("://", 1)
    user, _, host = rest.rpartition("@")
    return f"{scheme}://{user or 'postgres'}:{password}@{host}"


@pytest.mark.postgres
def test_init_samples_a_postgresql_table_and_stores_no_password(
    tmp_path: Path, pg_url: str
) -> None:
    import uuid

    adbc = pytest.importorskip("adbc_driver_postgresql.dbapi", reason="the postgres extra")
    name = f"tw_init_{uuid.uuid4().hex[:10]}"
    with adbc.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE TABLE {name} (kundennr text, datum date, umsatz numeric(12,2))")
        cur.execute(
            f"INSERT INTO {name} SELECT 'K' || (g % 20), DATE '2024-01-01' + g, 10 + g % 7 "
            "FROM generate_series(1, 200) g"
        )
        conn.commit()
    try:
        # the test server trusts local connections: the password is not needed to connect
        url = _pg_with_password(pg_url, "S3cr3t/Pw")
        target = tmp_path / "tierwise.toml"
        result = init_settings({"transactions": url}, settings_path=target)
        sample = read_sample(url, name="transactions")
        table_sample = read_sample(
            url, Settings().transactions.model_copy(update={"table": name}), name="transactions"
        )
    finally:
        with adbc.connect(pg_url) as conn, conn.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {name}")
            conn.commit()
    assert "S3cr3t" not in result.text and "Pw@" not in result.text
    parsed = tomllib.loads(result.text)
    assert parsed["transactions"]["path"] == pg_url
    assert "# The password is not stored here: give it in PGPASSWORD or ~/.pgpass" in result.text
    # no table "transactions" in the database: the section says which table to set
    assert parsed["transactions"]["table"] == "transactions"
    assert sample.columns == [] and "could not be read" in sample.notes[0]
    assert "S3cr3t" not in sample.notes[0]
    g = guess_table("transactions", table_sample)
    assert g.options["table"][0] == name
    assert g.mapping() == {"customer_id": "kundennr", "date": "datum", "revenue": "umsatz"}


def test_init_never_stores_the_password_of_a_database_url(tmp_path: Path) -> None:
    # port 1 refuses at once: the table is not sampled, and the password is still left out
    url = "postgresql://erp:S3cr3t/P@w#x@127.0.0.1:1/shop?sslmode=disable&password=S3cr3t2"
    result = init_settings({"transactions": url}, settings_path=tmp_path / "tierwise.toml")
    assert "S3cr3t" not in result.text
    parsed = tomllib.loads(result.text)
    assert parsed["transactions"]["path"] == "postgresql://erp@127.0.0.1:1/shop?sslmode=disable"
    assert "PGPASSWORD or ~/.pgpass" in result.text


def test_profile_reads_coordinates_and_small_whole_numbers() -> None:
    lat = profile(pa.array(["50,94", "50,73", "51,45"]))
    assert (lat.low, lat.high, lat.decimal) == (50.73, 51.45, ",")
    qty = profile(pa.array(["1", "3", "12", "2"]))
    assert (qty.integer, qty.median) == (1.0, 2.0) or qty.integer == 1.0


def test_profile_reads_amounts_with_the_currency_signs_and_words_a_run_reads() -> None:
    # the signs validation drops (a dollar with its country's letters, a ledger's word)
    # make amounts for init too: a Canadian or Polish export's revenue is numbers
    cad = profile(pa.array(["C$ 1,234.50", "C$ 12.00", "-C$ 3.50", "C$7.25"]))
    assert (cad.low, cad.high, cad.decimal) == (-3.5, 1234.5, ".")
    pln = profile(pa.array(["12,50 zł", "1.234,00 zł", "7,99 zł"]))
    assert (pln.low, pln.high, pln.decimal) == (7.99, 1234.0, ",")


def test_profile_reads_percentages_with_any_space_before_the_sign() -> None:
    """French typography writes a narrow no-break space (U+202F) before the sign."""
    p = profile(pa.array(["3,5\u202f%", "5\u00a0%", "-1 %", "2%"]))
    assert p.percent == 1.0


# -- the file written ---------------------------------------------------------------------


def test_init_writes_only_the_given_inputs_with_relative_paths(tmp_path: Path) -> None:
    data, config = tmp_path / "data", tmp_path / "config"
    data.mkdir()
    config.mkdir()
    tx = _write(data, GERMAN)
    cust = _write(data, GERMAN_CUSTOMERS)
    target = config / "tierwise.toml"
    result = init_settings({"transactions": tx, "customers": cust}, settings_path=target)
    parsed = tomllib.loads(result.text)
    assert set(parsed) == {"transactions", "customers"}  # no [demo], no stage sections
    assert parsed["transactions"]["path"] == "../data/rechnungen.csv"
    target.write_text(result.text, encoding="utf-8")
    s = load_settings(target)
    assert s.transactions.path == str(tx.resolve())
    assert s.customers.path == str(cust.resolve())
    assert s.demo == Settings().demo
    # each guess carries its confidence; the file's unused columns are listed
    line = next(ln for ln in result.text.splitlines() if ln.startswith("customer_id = "))
    assert '"Kundennummer"' in line and "# guessed (" in line and "%)" in line
    assert '#   "Ort": looks like city' in result.text
    # the customers' own column is offered as an extra column
    assert '# extra_columns = ["Kundenklasse"]' in result.text


def test_init_without_inputs_reads_back_as_the_defaults(tmp_path: Path) -> None:
    target = tmp_path / "tierwise.toml"
    target.write_text(settings_template(), encoding="utf-8")
    assert load_settings(target) == Settings()
    assert "[demo]" not in target.read_text(encoding="utf-8")


def test_init_on_a_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "invoices_2024.csv"
    with pytest.raises(InputError) as err:
        init_settings({"transactions": missing})
    assert str(missing) in err.value.one_line()
    assert "not found" in err.value.one_line()


def test_the_closing_hint_keeps_each_command_on_one_line(tmp_path: Path) -> None:
    target = tmp_path / "my settings" / "tierwise.toml"
    result = init_settings({"transactions": _write(tmp_path, GERMAN)}, settings_path=target)
    commands = [ln.strip() for ln in result.hint.splitlines() if ln.strip().startswith("tierwise ")]
    assert [shlex.split(c)[:2] for c in commands] == [["tierwise", "validate"], ["tierwise", "run"]]
    # the path with a space is quoted, so each line runs as it is
    assert shlex.split(commands[1])[3] == str(target)
    assert "transactions: 5 of 6 columns mapped, 1 not used" in result.hint
    hint = closing_hint(
        "t.toml",
        {"transactions": guess_table("transactions", read_sample(_write(tmp_path, BY_VALUES)))},
    )
    assert "required" not in hint


# -- end to end: the written file runs and uses every row ---------------------------------

_DERIVES = hasattr(TABLES["transactions"], "derive_from")


@pytest.mark.parametrize(
    ("name", "revenue"),
    [
        # sums of the Umsatz / SalesAmount column, by hand
        ("german", {"K1001": 135.49, "K1002": 1283.95, "K1003": 80.0}),
        ("adventureworks", {"676": 8099.976, "117": 2459.4529, "442": 874.794}),
        pytest.param(
            "online_retail",
            # unit_price × quantity: 6×2.55 + 6×3.39 + 6×1.85 and 32×1.69 + 6×4.25
            {"17850": 46.74, "13047": 79.58},
            marks=pytest.mark.skipif(not _DERIVES, reason="the schema has no unit_price yet"),
        ),
        pytest.param(
            "french",
            {"C001": 45.99, "C002": 112.5},
            marks=pytest.mark.skipif(not _DERIVES, reason="the schema has no unit_price yet"),
        ),
        # the credit note of 30.00 counts against C100's invoice of 120.00
        ("credit_notes", {"C100": 90.0, "C200": 75.5, "C300": 12.0}),
    ],
)
def test_the_written_settings_run_and_use_every_row(
    name: str, revenue: dict[str, float], tmp_path: Path
) -> None:
    export = EXPORTS[name]
    data = tmp_path / "data"
    data.mkdir()
    path = _write(data, export)
    target = tmp_path / "tierwise.toml"
    target.write_text(
        init_settings({export.table: path}, settings_path=target).text, encoding="utf-8"
    )
    settings = load_settings(target)
    result = run_pipeline({"transactions": settings.transactions.path or ""}, settings)
    acc = result.manifest["inputs"]["transactions"]
    n_rows = export.text.count("\n") - 1
    assert (acc["rows_read"], acc["rows_used"], acc["rows_rejected"]) == (n_rows, n_rows, 0)
    got = dict(
        zip(
            result.customers.column("customer_id").to_pylist(),
            result.customers.column("revenue").to_pylist(),
            strict=True,
        )
    )
    assert got == pytest.approx(revenue, abs=1e-6)


# -- two-digit years ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "fmt"),
    [
        (["31.12.23", "02.01.24", "15.01.24"], "%d.%m.%y"),
        (["31/12/23", "2/1/24", "15/01/24"], "%d/%m/%y"),
        (["12/31/23", "1/2/24", "01/15/24"], "%m/%d/%y"),
        (["12/31/23 10:15", "1/2/24 8:00", "01/15/24 17:30"], "%m/%d/%y %H:%M"),
        (["31-12-23", "02-01-24", "15-01-24"], "%d-%m-%y"),
    ],
)
def test_two_digit_years_get_a_date_format_with_y(
    dates: list[str], fmt: str, tmp_path: Path
) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Umsatz\n" + "".join(f"K{i};{d};10,50\n" for i, d in enumerate(dates)),
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.options["date_format"][0] == fmt
    assert "two-digit years" in g.options["date_format"][1] or fmt.startswith("%m")
    # the proposal reads back: every date in this century, none rejected
    target = tmp_path / "tierwise.toml"
    target.write_text(
        init_settings({"transactions": path}, settings_path=target).text, encoding="utf-8"
    )
    settings = load_settings(target)
    v = validate(str(path), settings=settings, as_of="2025-01-01")["transactions"]
    assert v.rejects.num_rows == 0
    got = v.table.column("date").to_pylist()
    assert got[0] == dt.date(2023, 12, 31) and all(d.year in (2023, 2024) for d in got)


def test_two_digit_years_with_day_and_month_both_12_or_less_are_read_day_first(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.csv"
    path.write_text("Customer,Date,Amount\nA,01/02/23,1.50\nB,03/04/23,2.50\n", encoding="utf-8")
    g = guess_table("transactions", read_sample(path))
    assert g.options["date_format"][0] == "%d/%m/%y"
    assert any('set date_format = "%m/%d/%y"' in n for n in g.notes)


def test_codes_written_like_dates_with_two_digit_years_stay_codes(tmp_path: Path) -> None:
    # article numbers 01.02.03 read as 1 February 2003 too: the name decides
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Artikelnummer;Umsatz\nK1;02.01.2024;01.02.03;10,50\n"
        "K1;03.01.2024;10.11.12;3,50\nK2;04.01.2024;01.02.03;7,00\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.mapping()["product_id"] == "Artikelnummer"
    assert "date_format" not in g.options


def _init_and_validate(inputs: dict[str, Path], tmp_path: Path) -> tuple[dict, dict]:
    """init's settings for ``inputs`` (parsed), and a validate run with them."""
    target = tmp_path / "tierwise.toml"
    text = init_settings(inputs, settings_path=target).text
    target.write_text(text, encoding="utf-8")
    paths = {k: str(v) for k, v in inputs.items()}
    return tomllib.loads(text), validate(
        **paths, settings=load_settings(target), as_of="2025-01-01"
    )


def test_a_column_of_two_digit_and_full_years_gets_the_validate_formats(tmp_path: Path) -> None:
    # every other invoice date typed by hand with a two-digit year
    lines = ["Kunde;Datum;Umsatz"] + [
        f"K{i % 7};{i % 28 + 1:02d}.03.{'24' if i % 2 else '2024'};10,50" for i in range(40)
    ]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # a table's date_format would read only one of the two shapes
    assert "date_format" not in guess_table("transactions", read_sample(path)).options
    parsed, v = _init_and_validate({"transactions": path}, tmp_path)
    assert parsed["validate"]["date_formats"][-1] == "%d.%m.%y"
    assert "%d.%m.%Y" in parsed["validate"]["date_formats"]
    # the proposal reads back: every row used, each date in 2024
    t = v["transactions"]
    assert t.rejects.num_rows == 0 and t.table.num_rows == 40
    assert {d.year for d in t.table.column("date").to_pylist()} == {2024}


def test_a_us_column_of_two_digit_and_full_years_is_read_month_first(tmp_path: Path) -> None:
    # 1/15/24 beside 3/14/2024: month first in both shapes, never day and month swapped
    days = [(i % 12 + 1, i % 28 + 1, i % 2) for i in range(40)]
    lines = ["Customer,Date,Amount"] + [
        f"C{i % 7},{m}/{d}/{'24' if short else '2024'},10.50"
        for i, (m, d, short) in enumerate(days)
    ]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    parsed, v = _init_and_validate({"transactions": path}, tmp_path)
    formats = parsed["validate"]["date_formats"]
    assert formats[-1] == "%m/%d/%y" and formats.index("%m/%d/%Y") < formats.index("%d/%m/%Y")
    t = v["transactions"]
    assert t.rejects.num_rows == 0
    assert t.table.column("date").to_pylist() == [dt.date(2024, m, d) for m, d, _ in days]


def test_two_digit_years_in_one_column_and_full_in_another_get_the_validate_formats(
    tmp_path: Path,
) -> None:
    # due dates with two-digit years, paid dates in full, as a German ledger export writes
    tx = tmp_path / "t.csv"
    tx.write_text(
        "Kunde;Datum;Umsatz\n" + "".join(f"K{i};0{i + 1}.03.2024;10,50\n" for i in range(7)),
        encoding="utf-8",
    )
    pay = tmp_path / "p.csv"
    pay.write_text(
        "Rechnungsnr;Kundennummer;Faellig;Bezahlt;Betrag\n"
        + "".join(
            f"R{i};K{i % 7};{i % 28 + 1:02d}.03.24;{i % 28 + 1:02d}.04.2024;10,00\n"
            for i in range(40)
        ),
        encoding="utf-8",
    )
    assert "date_format" not in guess_table("payments", read_sample(pay)).options
    parsed, v = _init_and_validate({"transactions": tx, "payments": pay}, tmp_path)
    assert parsed["validate"]["date_formats"][-1] == "%d.%m.%y"
    p = v["payments"]
    assert p.rejects.num_rows == 0 and p.table.num_rows == 40
    assert {d.year for d in p.table.column("due_date").to_pylist()} == {2024}
    assert {d.year for d in p.table.column("paid_date").to_pylist()} == {2024}


# -- the decimal separator's comment ---------------------------------------------------------


def test_the_decimal_comment_shows_a_number_even_far_into_the_file(tmp_path: Path) -> None:
    # the only column with decimals (Kosten) is empty in the first 60 rows
    lines = ["Kunde;Datum;Umsatz;Kosten"]
    lines += [f"K{i % 5};2024-01-{i % 28 + 1:02d};{10 + i};" for i in range(60)]
    lines += [f"K{i % 5};2024-02-{i % 28 + 1:02d};{10 + i};3.25" for i in range(20)]
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    text = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml").text
    line = next(ln for ln in text.splitlines() if ln.startswith("decimal = "))
    assert "(none)" not in text
    assert line.split("#")[1].strip() == "numbers like '3.25'"


# -- a document type as is_return ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "invoice", "returns"),
    [
        ("Belegart", "Rechnung", ["Gutschrift", "Storno"]),
        ("Beleg-Typ", "Faktura", ["Gutschrift"]),
        ("Document Type", "Invoice", ["Credit Memo"]),
        ("Doc. Type", "Invoice", ["Credit Note", "Return"]),
        ("Billing Type", "Invoice", ["Credit Memo"]),
        ("Invoice Type", "Invoice", ["Credit Note"]),
        ("Type", "Invoice", ["Credit Memo"]),
        ("Type de document", "Facture", ["Avoir"]),
        ("Tipo de documento", "Factura", ["Abono"]),
        ("Documenttype", "Factuur", ["Creditnota"]),
        ("Tipo documento", "Fattura", ["Nota di credito"]),
    ],
)
def test_a_document_type_column_is_proposed_as_is_return_with_its_words(
    name: str, invoice: str, returns: list[str], tmp_path: Path
) -> None:
    kinds = [invoice, *returns, invoice.upper(), invoice]
    path = tmp_path / "t.csv"
    path.write_text(
        f"Kunde;Datum;Umsatz;{name}\n"
        + "".join(f"K{i % 2};2024-01-0{i + 1};10,50;{k}\n" for i, k in enumerate(kinds)),
        encoding="utf-8",
    )
    result = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    parsed = tomllib.loads(result.text)["transactions"]
    assert parsed["columns"]["is_return"] == name
    assert parsed["true_values"] == returns
    assert parsed["false_values"] == [invoice]


def test_a_document_type_with_other_values_is_not_taken_for_is_return(tmp_path: Path) -> None:
    # a delivery note is neither an invoice nor a return: the run would reject its rows
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Umsatz;Belegart\nK1;2024-01-02;10,50;Rechnung\nK1;2024-01-03;3,50;Gutschrift\n"
        "K2;2024-01-04;7,00;Lieferschein\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.guessed("is_return") is None
    assert "true_values" not in g.options and "false_values" not in g.options
    assert dict(g.unmapped)["Belegart"].startswith(
        "reads as a document type, but 'Lieferschein' is neither an invoice nor a return"
    )


def test_a_document_type_with_payments_is_is_return_and_leaves_the_payments_out(
    tmp_path: Path,
) -> None:
    # a payment is no sale: its lines are left out by exclude_rows, each rejected as such
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Umsatz;Belegart\nK1;2024-01-02;10,50;Rechnung\nK1;2024-01-03;3,50;Gutschrift\n"
        "K2;2024-01-04;7,00;Zahlung\n",
        encoding="utf-8",
    )
    result = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    parsed = tomllib.loads(result.text)["transactions"]
    assert parsed["columns"]["is_return"] == "Belegart"
    assert (parsed["true_values"], parsed["false_values"]) == (["Gutschrift"], ["Rechnung"])
    assert parsed["exclude_rows"] == {"Belegart": ["Zahlung"]}
    (tmp_path / "tierwise.toml").write_text(result.text, encoding="utf-8")
    assert load_settings(tmp_path / "tierwise.toml").transactions.exclude_rows == {
        "Belegart": ["Zahlung"]
    }


def test_a_type_column_of_other_words_says_nothing_of_returns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Umsatz;Type\nK1;2024-01-02;10,50;Hardware\nK2;2024-01-03;3,50;Service\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.guessed("is_return") is None
    assert dict(g.unmapped)["Type"] == "looks like type, a column of activities"


def test_a_return_column_holding_document_words_gets_its_words(tmp_path: Path) -> None:
    # named as tierwise names it, read by that name: only the words are needed
    path = tmp_path / "t.csv"
    path.write_text(
        "customer_id,date,revenue,is_return\nA,2024-01-02,10,Invoice\nA,2024-01-03,4,Refund\n"
        "B,2024-01-04,7,\n",
        encoding="utf-8",
    )
    result = init_settings({"transactions": path}, settings_path=tmp_path / "tierwise.toml")
    parsed = tomllib.loads(result.text)["transactions"]
    assert "columns" not in parsed or "is_return" not in parsed["columns"]
    assert (parsed["true_values"], parsed["false_values"]) == (["Refund"], ["Invoice"])


def test_a_document_type_without_a_return_in_the_sample_says_so(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Umsatz;Belegart\nK1;2024-01-02;10,50;Rechnung\nK2;2024-01-03;3,50;Rechnung\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.mapping()["is_return"] == "Belegart"
    assert "true_values" not in g.options and g.options["false_values"][0] == ("Rechnung",)
    assert any("no return or credit note among the sampled values" in n for n in g.notes)


# -- one column of the file for one canonical column -----------------------------------------


def test_a_column_two_canonical_columns_read_goes_to_the_better_and_the_other_says_so(
    tmp_path: Path,
) -> None:
    # E-Mail reads as email (well) and as customer_id (an e-mail may identify a customer)
    path = tmp_path / "kunden.csv"
    path.write_text(
        "E-Mail;Firma;Ort\na@x.de;A GmbH;Köln\nb@y.de;B AG;Bonn\nc@z.de;C KG;Essen\n",
        encoding="utf-8",
    )
    result = init_settings({"customers": path}, settings_path=tmp_path / "tierwise.toml")
    g = result.tables["customers"]
    assert list(g.mapping().values()).count("E-Mail") == 1
    assert g.mapping()["email"] == "E-Mail"
    assert dict(g.missing)["customer_id"] == (
        "'E-Mail' reads as it too, but is taken by email, a better match"
    )
    line = next(ln for ln in result.text.splitlines() if ln.startswith("# customer_id"))
    assert line.startswith('# customer_id = "E-Mail"')
    assert line.endswith(
        '# REQUIRED, not mapped: "E-Mail" reads as it too, but is taken by email, a better match'
    )


def test_a_header_holding_one_name_twice_is_guessed_by_place_and_says_so(tmp_path: Path) -> None:
    # the run names such columns by their place: Betrag (column 3), betrag (column 4)
    path = tmp_path / "t.csv"
    path.write_text(
        "Kunde;Datum;Betrag;betrag\nK1;2024-01-02;10,5;3,5\nK2;2024-01-03;11,5;4,5\n",
        encoding="utf-8",
    )
    g = guess_table("transactions", read_sample(path))
    assert g.mapping() == {"customer_id": "Kunde", "date": "Datum", "revenue": "Betrag (column 3)"}
    assert dict(g.unmapped)["betrag (column 4)"] == (
        "'betrag' appears twice in the header (names are compared ignoring case): the run "
        "reads each by its place, as 'Betrag (column 3)' and 'betrag (column 4)'; this one: "
        "also reads as revenue, taken by 'Betrag (column 3)'"
    )


# -- the proposals validate the files they were made from ------------------------------------


@pytest.mark.parametrize(
    ("name", "revenue", "returns"),
    [
        # the credit memo's 120.50 is positive in the file and counts negative
        ("navision", [241.0, -120.5, 30.0, 10.0], [False, True, False, False]),
        ("us_erp", [120.5, -60.25, 75.0, 60.25], [False, True, False, False]),
    ],
)
def test_the_proposed_settings_validate_every_row_of_the_export(
    name: str, revenue: list[float], returns: list[bool], tmp_path: Path
) -> None:
    export = EXPORTS[name]
    path = _write(tmp_path, export)
    target = tmp_path / "tierwise.toml"
    target.write_text(
        init_settings({export.table: path}, settings_path=target).text, encoding="utf-8"
    )
    settings = load_settings(target)
    v = validate(str(path), settings=settings, as_of="2025-06-30")["transactions"]
    assert v.rejects.num_rows == 0
    assert v.table.column("revenue").to_pylist() == pytest.approx(revenue)
    assert v.table.column("is_return").to_pylist() == returns
    assert {d.year for d in v.table.column("date").to_pylist()} == {2024}


def test_tierwise_validate_reads_german_payments_and_customers_as_proposed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from tierwise import cli

    monkeypatch.setitem(cli._state, "debug", False)
    files = {
        "transactions": _write(tmp_path, GERMAN),
        "customers": _write(tmp_path, GERMAN_CUSTOMERS_AM),
        "payments": _write(tmp_path, GERMAN_PAYMENTS_AM),
    }
    target = tmp_path / "tierwise.toml"
    res = CliRunner().invoke(
        cli.app,
        ["init", *[a for k, p in files.items() for a in (f"--{k}", str(p))], "-o", str(target)],
    )
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(
        cli.app, ["validate", "--config", str(target), "--as-of", "2024-12-31"]
    )
    assert res.exit_code == 0, res.output
    assert "no rows would be rejected" in res.output
    settings = load_settings(target)
    v = validate(
        str(files["transactions"]),
        customers=str(files["customers"]),
        payments=str(files["payments"]),
        settings=settings,
        as_of="2024-12-31",
    )
    pay = v["payments"].table
    assert pay.column("due_date").to_pylist()[0] == dt.date(2024, 2, 1)
    assert pay.column("paid_date").to_pylist() == [dt.date(2024, 1, 30), None, dt.date(2024, 3, 10)]
    assert v["customers"].table.column("created_date").to_pylist()[0] == dt.date(2015, 3, 1)
