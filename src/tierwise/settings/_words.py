"""The words ``tierwise init`` reads column names with: concepts in six languages.

A column name is cut into words (camelCase, snake_case, spaces, and German or Dutch
compounds such as ``Kunden|nummer`` or ``Factuur|datum``); each word stands for one or more
*concepts* (``CUSTOMER``, ``ID``, ``DATE`` …). Words are compared folded: lower case, accents
removed, ``ß`` as ``ss``. The vocabulary covers English, German, French, Spanish, Romanian and
Dutch, plus the SAP field names of a sales-document export (``KUNNR``, ``FKDAT``, ``NETWR``…)
and of SAP Business One (``CardCode``, ``DocDate``, ``SlpCode``…).

Besides column names, the words a document-type column holds (``Rechnung``, ``Gutschrift``,
``Credit Memo`` …) tell an invoice from a return (:func:`document_kind`), and the words for
debit and credit (``Soll``, ``Haben``; the flags ``S``, ``H``) name a booking's side.

Which concepts make which canonical column is in :mod:`tierwise.settings._guess`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cache

__all__ = [
    "concepts_of",
    "document_codes",
    "document_kind",
    "fold",
    "ledger_account",
    "no_sale_document",
    "sales_journal",
    "status_kind",
    "status_name",
    "won_stage",
    "words",
]

#: concept → the folded words that stand for it (one word may stand for several concepts)
CONCEPTS: dict[str, str] = {
    "CUSTOMER": """customer customers cust client clients cliente clientes clientul clienti
        kunde kunden kd klant klanten debtor debtors debitor debitoren debiteur debiteuren
        deudor account accounts acct reseller resellers buyer buyers consumer shopper member
        subscriber abonent beneficiar cumparator acheteur comprador afnemer abnehmer
        auftraggeber soldto tiers konto kto""",
    # who is billed or pays, where another customer ordered (Navision's Bill-to Customer
    # No. beside Sell-to Customer No., SAP's Payer beside the Sold-to Party)
    "PAYER": """billto payer payers zahler regulierer""",
    # an SAP partner (Sold-to Party): says whose number it is, not what
    "PARTNER": """party parties partner partners geschaftspartner geschaeftspartner""",
    # a CRM's contact (Zoho's Contact ID), the customer of a contact list
    "CONTACT": """contact contacts kontakt kontakte""",
    "ID": """id ids key no nr nro num nbr number numbers numero nummer numar code codes cod
        codigo ref reference referenz referencia referinta referentie identifier ident
        identification kennung kz n sk pk guid uuid""",
    # the time of day after a date (Zoho's Created Time), which a date column may carry
    "TIME": """time times zeit uhrzeit heure hora tijd ora""",
    "DATE": """date dates dt datum fecha fechas data datetime timestamp jour dia dat""",
    "INVOICE": """invoice invoices inv rechnung rechnungen rech faktura fakt factura facturi
        facturii facture factures fact factuur facturen bill billing billed invoiced
        fakturiert ticket""",
    "ORDER": """order orders ord so po auftrag auftrage bestellung bestellungen bestell
        commande commandes cmd cde pedido pedidos comanda comenzi comenzii bestelling
        ordine opportunity opportunities oppty deal deals""",
    "DOCUMENT": """document documents doc docs beleg belege documento documentul voucher
        transaction transactions txn trans vorgang receipt albaran lieferschein boleta folio
        bon vch""",
    "SHIPPING": """shipping ship shipped shipment delivery deliver liefer lieferung versand
        livraison expedition envio entrega livrare expediere levering verzending""",
    "POSTING": """posting posted buchung buchungs comptabilisation contabilizare boeking
        booking""",
    # an order's item row (Magento's Row Total)
    "LINE": """line lines position pos posnr linea ligne regel linie zeile row""",
    "PRODUCT": """product products prod produkt produkte produit produits producto productos
        produs produse produsul item items article articles artikel art articulo articulos
        articol articole sku material materials mat ware waren stock part parts goods
        merchandise ean gtin upc plu isbn""",
    "CATEGORY": """category categories cat categ kategorie kategorien categorie categoria
        categorias group groups grp gruppe gruppen groep groepen grupo grupa groupe family
        families familie famille familia class klasse classe clase clasa sortiment rubro
        division sparte department rayon""",
    "QUANTITY": """quantity quantities qty qte quantite quantita menge mengen anzahl stuck
        stueck stk units pieces pcs cantidad cant cantitate cantitatea buc bucati aantal
        hoeveelheid stuks nb stuckzahl stueckzahl""",
    # a count of things (Item Count, cnt); "number of" before a plural reads as one too
    # (number_of_cds, No. of Items, num_units, n_orders: see _counted)
    "COUNT": """count cnt""",
    "SALES": """sales sale revenue revenues turnover umsatz umsaetze umsatze erlos erloes
        erlose venta ventas vente ventes vanzari vanzare verkoop verkopen omzet ca
        facturacion ingresos income proceeds vertrieb verkauf""",
    "AMOUNT": """amount amounts amt value values val total totals sum summe betrag betrage
        wert werte importe monto montant valeur valoare valoarea suma bedrag waarde totaal
        totale""",
    # a subtotal: the amount before shipping and tax (Magento's Subtotal), or before
    # discount on a shop's item (WooCommerce's item_subtotal)
    "SUBTOTAL": """subtotal subtotals zwischensumme soustotal""",
    "NET": """net netto nett neto ht""",
    "CURRENCY": """lcy fcy acy lcu mst currency curr cur local eur euro usd dollar dollars gbp
        chf sek nok dkk pln czk huf ron jpy cny cad aud waehrung wahrung devise moneda
        moneta valuta""",
    "ACTUAL": """actual actuals ist real effective effectif efectivo""",
    "GROSS": """gross brutto bruto""",
    "INCLTAX": """ttc incltax""",
    "LIST": """list liste lista catalog catalogue catalogo""",
    # a price or cost extended by the quantity: the line's amount (Extended Price, Ext. Cost)
    "EXTENDED": """extended ext extd""",
    "PRICE": """price prices prix preis preise precio precios pret preturi prijs prijzen
        tarif tarifa vk vkp pu""",
    "UNIT": """unit unitary unitar unitario unitaire unidad einzel each ea stuk piece
        eenheid""",
    "DISCOUNT": """discount discounts disc rabatt rabatte remise remises descuento
        descuentos dto reducere reduceri korting rebate rebates nachlass skonto abattement""",
    "PERCENT": """pct percent percentage prozent pourcentage porcentaje procent procentaj
        perc ratio""",
    "COST": """cost costs kosten cout couts coste costes costo costos kost cogs einstand
        wareneinsatz ek einkauf purchase purchases achat achats compra compras aankoop
        inkoop achizitie achizitii cmv cpv expense expenses aufwand spesen gastos
        cheltuieli""",
    "STANDARD": """standard avg average moyen moyenne durchschnitt medio mediu gemiddeld""",
    "TAX": """tax taxes vat mwst ust steuer steuern tva iva btw impozit taxe impuesto
        impot gst hst""",
    "TAXID": """siret siren nif cif cui ein tin ustid intracom intracommunautaire rfc cuit
        nip vatno gstin""",
    "MARGIN": """margin margins marge margen marja db deckungsbeitrag profit gewinn winst
        beneficio benefice rohertrag""",
    "RETURN": """return returns returned retour retoure retouren retur retururi gutschrift
        storno credit creditnote avoir abono devolucion devolution creditnota refund rma""",
    "FLAG": """is flag indicator yn""",
    "NAME": """name names nom nombre nume denumire denumirea naam namen""",
    # a name written whole (Salesforce's Full Name, Odoo's Display Name)
    "FULL": """full display complete vollstandiger""",
    "COMPANY": """company companies firma firmen unternehmen entreprise societe empresa
        compania companie societate bedrijf organisation organization org business corp
        corporation gesellschaft""",
    "DESCRIPTION": """description desc descr bezeichnung beschreibung designation libelle
        descripcion descriere omschrijving text texto texte label""",
    "ADDRESS": """address addr addresses adresse adress strasse str street direccion calle
        adresa strada adres straat rue""",
    "POSTCODE": """postcode postal plz zip zipcode postleitzahl cp codpostal postnummer""",
    "CITY": """city town ort ortschaft stadt ville ciudad oras orasul localitate localidad
        localite poblacion plaats woonplaats wohnort gemeente municipio locality""",
    "COUNTRY": """country countries land lander pays pais tara nation staat""",
    "REGION": """region regions regio regiune gebiet bezirk territory territories
        territorio territoire area zone zona district bundesland provincie provincia
        province departement departamento judet state county kreis canton kanton""",
    "LAT": """lat latitude breite breitengrad latitud latitudine breedtegraad breedte""",
    "LON": """lon lng long longitude lange laenge langengrad laengengrad longitud
        longitudine lengtegraad lengte""",
    "HOME": """home base heim wohnort domicile domicilio thuis""",
    "INDUSTRY": """industry industries branche branchen sector sektor secteur industria
        industrie nace sic naics wz vertical naf ape caen sbi""",
    "EMPLOYEES": """employees headcount staff mitarbeiter mitarbeitende
        beschaftigte beschaeftigte angestellte effectif effectifs empleados plantilla
        angajati salariati medewerkers werknemers personeel personal fte workforce""",
    "ANNUAL": """annual yearly jahres jahr annuel annuelle anual anuala jaar jaarlijks
        year yr""",
    "REP": """rep reps representative salesrep salesperson salesman seller vertreter
        aussendienst berater betreuer verkaufer verkaeufer commercial commerciale vendeur
        representant vendedor comercial agent agente agentul vanzator reprezentant verkoper
        vertegenwoordiger accountmanager owner manager kam employee assigned assignee""",
    # the user of a CRM an activity is assigned to (Pipedrive's Assigned to user)
    "USER": """user users benutzer utilisateur usuario utilizator gebruiker""",
    "ROLE": """role roles rolle function funktion fonction funcion functie functia rol
        rolul title job jobtitle""",
    "HOURS": """hours hour hrs h stunden stunde heures horas ore uren capacity kapazitat
        kapazitaet capacite capacidad capacitate capaciteit""",
    "CHANNEL": """channel channels kanal kanale canal canales kanaal route circuit""",
    "CURRENT": """current actual aktuell aktuelle actuel actuelle curent huidig""",
    "CREATED": """created create creation erstellt angelegt anlage erfasst eroffnet
        eroffnung opened since seit registered registration signup onboarded creado
        creacion alta cree creee ouverture creat creare inregistrare aangemaakt aanmaak""",
    "TERMS": """terms term ziel bedingung bedingungen konditionen conditions condition delai
        plazo termen termijn""",
    "PAYMENT": """payment payments pay zahlung zahlungen paiement reglement pago pagos plata
        plati platii betaling betalingen settlement""",
    "DAYS": """days day tage tagen jours dias zile dagen""",
    "PARENT": """parent mutter konzern holding hq headquarters zentrale mere matriz parinte
        moeder ultimate""",
    "PHONE": """phone telephone tel telefon telefono telefoon mobile mobil handy gsm cell
        fon""",
    "FAX": """fax telefax""",
    "EMAIL": """email mail courriel correo""",
    "ACTIVITY": """activity activities aktivitat aktivitaet activite actividad activitate
        activiteit action aktion kontakt contact contacts interaction event touchpoint
        besuch visit""",
    "TYPE": """type types typ kind art sort soort tipo tip genre nature""",
    "DURATION": """duration dauer duree duracion durata duur""",
    "MINUTES": """minutes minute minuten min mins minutos minuti""",
    "DUE": """due faellig fallig falligkeit faelligkeit echeance vencimiento scadenta
        scadentei verval vervaldag deadline""",
    "PAID": """paid bezahlt gezahlt paye payee pagado platit platita betaald cleared
        settled ausgleich ausgeglichen eingang encaissement cobro cobrado incasare incasat
        ontvangen closed""",
    "MARKET": """market markets markt marche mercado piata""",
    "SIZE": """size volume volumen grosse groesse taille tamano dimensiune marime omvang
        potential tam""",
    "GROWTH": """growth wachstum croissance crecimiento crestere groei cagr""",
    # a deal's closing (Zoho CRM's Closing Date, HubSpot's Close Date): the day it was won
    "CLOSE": """close closing""",
    # a rate (an exchange rate: SAP's Kurs) is no amount
    "RATE": """rate rata tasa taux quote kurs wechselkurs exchange""",
}

#: whole names or single words that are abbreviations of several words (folded, no spaces)
ABBREVIATIONS: dict[str, str] = {
    "kdnr": "kunde nr",
    "kundnr": "kunde nr",
    "kunnr": "kunde nr",
    "kunag": "kunde nr",
    "fkdat": "rechnung datum",
    "netwr": "netto wert",
    "fkimg": "menge",
    "matnr": "material nr",
    "vbeln": "beleg nr",
    "matkl": "material gruppe",
    "erdat": "erstellt datum",
    "ort01": "ort",
    "pstlz": "plz",
    "land1": "land",
    "name1": "name",
    "stras": "strasse",
    "brsch": "branche",
    "zterm": "zahlung ziel",
    "idnr": "id nr",
    "belegfeld": "beleg nr",
    "umsatzohnesollhabenkz": "umsatz",
    "personalnummer": "employee nr",
    "personalnr": "employee nr",
    "ustidnr": "ust id nr",
    "chiffreaffaires": "ca",
    "cifraafaceri": "ca",
    "soldto": "customer",
    "sellto": "customer",
    "billto": "billto",
    "accountmanager": "rep",
    "raisonsociale": "name",
    "razonsocial": "name",
    "codepostal": "postcode",
    "codigopostal": "postcode",
    "codpostal": "postcode",
    "zipcode": "postcode",
    "email": "email",
    "emailaddress": "email",
    # Business Central's Post Code and Country/Region Code
    "postcode": "postcode",
    "countryregion": "country",
    # Xero's contacts: the postal address's city and postcode
    "pocity": "city",
    "popostalcode": "postcode",
    # SAP Business One (OINV, INV1, OCRD): the business partner's code and name, the
    # document's date, number and internal key, the sales employee, the tax number
    # Dynamics 365 Sales' opportunity: the account or contact it is for
    "potentialcustomer": "customer",
    "cardcode": "customer nr",
    # a line's quantity named by the ordering (Amazon's quantity-purchased, Magento's Qty
    # Ordered), where "ordered" or "purchased" alone is a date (Purchased On) or a flag
    "quantitypurchased": "quantity",
    "qtyordered": "quantity",
    # MYOB AccountRight's sales: the customer's card and its name (a company's, or a
    # person's last name)
    "cardid": "customer id",
    "colastname": "customer name",
    # the French FEC (Fichier des Ecritures Comptables): the auxiliary account of a sales
    # journal's line (the customer's), the document's number and date; Montantdevise is
    # the amount in the foreign currency, not the ledger's
    "compauxnum": "customer nr",
    "compauxlib": "customer name",
    "pieceref": "beleg nr",
    "piecedate": "beleg datum",
    "montantdevise": "foreign amount",
    "cardname": "customer name",
    "docdate": "beleg datum",
    "docnum": "beleg nr",
    "docentry": "beleg",
    "slpcode": "rep nr",
    "slpname": "rep name",
    "lictradnum": "tax id",
    "grssprofit": "gross profit",
    # a credit note is a return, whichever way the two words are written (Credit Note,
    # CreditNote, credit_note, Credit Memo)
    "creditnote": "creditnote",
    "creditmemo": "creditnote",
    "subtotal": "subtotal",
    # Tally's Day Book: the party ledger of a voucher, the customer of a sale
    "particulars": "party",
    # Dynamics 365's CustInvoiceTrans: the account that ordered, and the one billed
    "orderaccount": "customer",
    "invoiceaccount": "billto",
    # Magento's order grid: the customer's purchase is the order
    "purchasedate": "order date",
    # QuickBooks' Product/Service
    "productservice": "product",
    # SAP: VAT (Umsatzsteuer) in the VAT number's name, and the cost of a billing item
    # (VBRP-WAVWR, Verrechnungswert)
    "umsatzsteuer": "steuer",
    "mehrwertsteuer": "mwst",
    "verrechnungswert": "kosten wert",
    "wavwr": "kosten wert",
    # SAP's billing type (FKART) and sales document category (VBTYP)
    "fkart": "rechnung typ",
    "vbtyp": "beleg typ",
    # Zoho's Billing Code: the billing address's PIN code
    "billingcode": "postcode",
    # a marketplace's buyer's user name identifies the buyer (eBay's Buyer Username); a
    # user name alone may be anyone's (a till's cashier), and what an item sold for is its
    # price (eBay's Sold For, beside Quantity and the order's Total Price)
    "buyerusername": "buyer id",
    "customerusername": "customer id",
    # a CRM's deal names the company it is with (HubSpot's Associated Company IDs): the
    # customer
    "associatedcompany": "customer",
    # the time a deal was won is the sale's date (Pipedrive's Deal - Won time)
    "wontime": "date",
    "wondate": "date",
    "soldfor": "price",
}

#: currency words naming the ledger's own (accounting) currency: Dynamics' LineAmountMST,
#: Business Central's Amount (LCY), folded
ACCOUNTING_CURRENCY = frozenset({"mst", "lcy", "lcu"})


def _ws(text: str) -> list[str]:
    return text.split()


def _lines(text: str) -> frozenset[str]:
    return frozenset(line.strip() for line in text.strip().splitlines() if line.strip())


#: what a document-type column (Belegart, Document Type, Billing Type) holds for a return or
#: a credit note (a cancellation counts as one), folded, one a line
RETURN_DOCUMENTS = _lines(
    """
    gutschrift
    storno
    stornierung
    stornorechnung
    stornofaktura
    rechnungsstorno
    rechnungskorrektur
    retoure
    rucksendung
    ruecksendung
    ruckgabe
    rueckgabe
    credit
    credit memo
    credit note
    creditmemo
    creditnote
    sales credit memo
    return
    returns
    sales return
    refund
    cancellation
    invoice cancellation
    reversal
    avoir
    facture d avoir
    note de credit
    retour
    annulation
    remboursement
    abono
    factura de abono
    nota de credito
    factura rectificativa
    devolucion
    anulacion
    reembolso
    creditnota
    creditfactuur
    credit nota
    retourzending
    terugbetaling
    nota di credito
    nota credito
    reso
    rimborso
    """
)
#: what it holds for an invoice (or a debit note, which charges as one; a sales receipt,
#: QuickBooks' cash sale, is an invoice paid at once), folded
INVOICE_DOCUMENTS = _lines(
    """
    rechnung
    faktura
    ausgangsrechnung
    verkaufsrechnung
    lastschrift
    invoice
    sales invoice
    debit memo
    debit note
    bill
    sale
    sales
    sales receipt
    cash sale
    order
    facture
    vente
    factura
    venta
    factuur
    verkoop
    fattura
    vendita
    """
)


@dataclass(frozen=True)
class DocumentCodes:
    """One system's codes for a line's document type, folded: those of returns and credit
    notes, of invoices, and of lines that are no sale (a payment, a purchase)."""

    system: str
    returns: frozenset[str]
    invoices: frozenset[str]
    no_sale: frozenset[str] = frozenset()
    #: the folded names (letters and digits only) of the one column holding these codes;
    #: empty: any column named as a document type
    names: frozenset[str] = frozenset()


#: document types written as codes, read only where every value of a column is a code of
#: one system and one of them is an invoice's. SAP writes a billing document's amounts
#: unsigned: the billing type (FKART) says a credit memo (G2), a credit for returns (RE),
#: an invoice's cancellation (S1), an internal credit memo (IG); an invoice (F1, F2, F5,
#: F8), a debit memo (L2), a cash sale (BV), an intercompany invoice (IV) and a credit
#: memo's cancellation (S2, which undoes a credit) count as sales. The sales document
#: category (VBTYP) says the same in one letter: O credit memo, N invoice cancellation; M
#: invoice, P debit memo, S credit memo cancellation. Sage 50's audit trail: SI sales
#: invoice, SC sales credit; receipts, payments, discounts, purchases, bank and journal
#: lines are no sale.
DOCUMENT_CODES = (
    DocumentCodes(
        "SAP billing types",
        frozenset({"g2", "re", "s1", "ig"}),
        frozenset({"f1", "f2", "f5", "f8", "l2", "bv", "iv", "s2"}),
    ),
    DocumentCodes(
        "SAP sales document categories",
        frozenset({"o", "n"}),
        frozenset({"m", "p", "s"}),
        names=frozenset({"vbtyp", "vertriebsbelegtyp", "sddocumentcategory", "documentcategory"}),
    ),
    DocumentCodes(
        "Sage 50 transaction types",
        frozenset({"sc"}),
        frozenset({"si"}),
        frozenset(_ws("sr sa sd pi pc pp pr pa pd br bp jd jc cp cr vp vr")),
    ),
)


def document_codes(
    values: list[str], name: str
) -> tuple[DocumentCodes, dict[str, bool | None]] | None:
    """The system whose codes a document-type column holds, and each value's kind: a
    return (True), an invoice (False), no sale (None); ``None`` when no one system's codes
    are every value, or none is an invoice's.

    Examples
    --------
    >>> codes, kinds = document_codes(["F2", "G2", "S1"], "Fakturaart")
    >>> codes.system, kinds
    ('SAP billing types', {'F2': False, 'G2': True, 'S1': True})
    >>> document_codes(["M", "O"], "Type") is None, document_codes(["G2"], "FKART") is None
    (True, True)
    """
    key = re.sub(r"[^a-z0-9]+", "", fold(name))
    folded = {v: fold(v).strip() for v in values}
    for codes in DOCUMENT_CODES:
        if codes.names and key not in codes.names:
            continue
        known = codes.returns | codes.invoices | codes.no_sale
        if folded and set(folded.values()) <= known and set(folded.values()) & codes.invoices:
            kinds = {
                v: True if f in codes.returns else False if f in codes.invoices else None
                for v, f in folded.items()
            }
            return codes, kinds
    return None


#: a row's status (Status, Invoice Status, Activity - Done) saying the row is no sale nor
#: activity that happened: void, draft, cancelled, failed, expired (a shop's payment
#: authorisation lapsed, never taken), deleted, still to do; folded,
#: one a line
NOT_DONE_STATUSES = _lines(
    """
    void
    voided
    draft
    cancelled
    canceled
    failed
    expired
    deleted
    storniert
    annulliert
    entwurf
    geloscht
    geloescht
    annule
    annulee
    brouillon
    anulado
    anulada
    cancelado
    cancelada
    borrador
    to do
    todo
    not done
    """
)
#: a status saying the row is no sale only in a column named as a status or a stage
#: (:func:`status_name`), where elsewhere the word means something else (Exact Online's
#: Status: Concept, a draft, Geannuleerd, cancelled; a Collection named Concept; Odoo's
#: order Status: Quotation, an offer not yet ordered); folded
NAMED_NOT_DONE_STATUSES = _lines(
    """
    concept
    geannuleerd
    ongeldig
    verwijderd
    quotation
    quotation sent
    quote
    angebot
    angebot versendet
    angebot gesendet
    devis
    devis envoye
    presupuesto
    presupuesto enviado
    cotizacion
    offerte
    offerte verzonden
    preventivo
    """
)
#: words naming a column of a row's status or a deal's stage (Status, Invoice State, Deal
#: Stage, Dutch Status), folded
_STATUS_NAMES = frozenset(
    _ws("status statuses state stage stages etat estado estatus stato zustand toestand")
)
#: a phase is a status when it is a deal's (Deal Phase), folded
_PHASE_NAMES = frozenset(_ws("phase phases fase fasen"))


def status_name(name: str) -> bool:
    """Whether a column's name reads as a row's status or a deal's stage.

    Examples
    --------
    >>> [status_name(n) for n in ("Status", "Deal Stage", "Deal - Status", "Deal Phase")]
    [True, True, True, True]
    >>> [status_name(n) for n in ("Phase", "Collection", "Currency Name")]
    [False, False, False]
    """
    ws = set(words(name))
    if ws & _STATUS_NAMES:
        return True
    return bool(ws & _PHASE_NAMES) and any("ORDER" in concepts_of(w) for w in ws)


#: a status that may or may not be a sale, as the business counts it: an order waiting
#: for payment (or its payment authorised, not yet taken), or paid back in whole or in part
UNSURE_STATUSES = _lines(
    """
    pending
    authorized
    authorised
    refunded
    partially refunded
    uncollectible
    """
)
#: a deal's stage once won (Salesforce's Closed Won, HubSpot's closedwon, Pipedrive's won):
#: in a CRM's export of deals or opportunities, every other stage is no sale; folded
WON_STAGES = _lines(
    """
    closed won
    closedwon
    won
    gewonnen
    gagne
    gagnee
    ganado
    ganada
    gewonnen deal
    """
)
#: a column flagging a row deleted (Sage 50's Deleted: Y or N), folded names
DELETED_FLAGS = frozenset(_ws("deleted delete geloscht geloescht void voided"))


def won_stage(value: str) -> bool:
    """Whether a deal's stage says it is won (:data:`WON_STAGES`).

    Examples
    --------
    >>> [won_stage(v) for v in ("Closed Won", "closedwon", "Closed Lost", "Negotiation")]
    [True, True, False, False]
    """
    return " ".join(w for w in re.split(r"[^a-z0-9]+", fold(value)) if w) in WON_STAGES


def status_kind(value: str, *, named: bool = False) -> bool | None:
    """Whether a row's status says it is no sale (True), may or may not be one (None
    for pending or refunded, as the business counts it), or says nothing of it (False);
    ``named`` when the column's name reads as a status (:data:`NAMED_NOT_DONE_STATUSES`).

    Examples
    --------
    >>> [status_kind(v) for v in ("Void", "CANCELLED", "pending", "To do", "Completed")]
    [True, True, None, True, False]
    >>> status_kind("Concept"), status_kind("Concept", named=True)
    (False, True)
    >>> [status_kind(v, named=True) for v in ("Devis envoyé", "Cotización", "Preventivo")]
    [True, True, True]
    """
    key = " ".join(w for w in re.split(r"[^a-z0-9]+", fold(value)) if w)
    if key in NOT_DONE_STATUSES or (named and key in NAMED_NOT_DONE_STATUSES):
        return True
    if key in UNSURE_STATUSES:
        return None
    return False


#: words naming the debit side of a booking (German Soll), and the credit side (Haben), folded
DEBIT_WORDS = frozenset(_ws("soll debit debits debe debet dr sollbetrag"))
CREDIT_WORDS = frozenset(_ws("haben credit credits haber credito cr habenbetrag"))
#: the values a debit/credit flag holds (DATEV's Soll/Haben-Kennzeichen: S, H), folded:
#: debit, then credit
DEBIT_CREDIT_FLAGS = (
    ("s", "h"),
    ("soll", "haben"),
    ("d", "c"),
    ("dr", "cr"),
    ("debit", "credit"),
)


#: words of a general ledger's account of its customers (receivables): Accounts
#: Receivable, Trade Debtors, Clients (an FEC's 411's name), Forderungen, folded
_RECEIVABLE_WORDS = frozenset(
    _ws(
        """receivable receivables debtor debtors debitor debitoren debiteur debiteuren client
    clients forderung forderungen deudores clientes creances"""
    )
)
#: words of an account of sales: Sales, Revenue, Income, Turnover, Ventes, Prestations de
#: services, Erlöse, Umsatzerlöse, Ingresos, Omzet, folded
_REVENUE_WORDS = frozenset(
    _ws(
        """sales sale revenue revenues income turnover ventes vente prestations erlose erlos
    erloese umsatzerlose umsatzerloese ingresos ventas omzet opbrengsten"""
    )
)
#: words that make an account with a sales word no account of sales: Sales Tax, Cost of
#: Sales, Interest Income, TVA sur ventes
_NOT_REVENUE_WORDS = frozenset(
    _ws(
        """tax taxes vat tva gst hst pst mwst ust umsatzsteuer steuer iva btw cost costs cogs
    payable purchase purchases expense expenses interest gain gains exchange achats einkauf
    aufwand"""
    )
)


def ledger_account(value: str) -> str | None:
    """Whether a general ledger's account, as its name or its number in the French chart of
    accounts (an FEC's CompteNum), is the customers' ("receivable": 411…, Accounts
    Receivable, Clients), one of sales ("revenue": 70…, Sales, Prestations de services,
    Erlöse) or neither (``None``); a number before the name ("4000 Sales") is left to the
    name.

    Examples
    --------
    >>> [ledger_account(v) for v in ("411000", "706000", "445710", "Accounts Receivable (A/R)")]
    ['receivable', 'revenue', None, 'receivable']
    >>> [ledger_account(v) for v in ("Sales", "Sales Tax Payable", "Cost of Sales", "Cash")]
    ['revenue', None, None, None]
    """
    key = [w for w in re.split(r"[^a-z0-9]+", fold(value)) if w]
    named = [w for w in key if not w.isdigit()]
    if named:
        if set(named) & _NOT_REVENUE_WORDS:
            return None
        if set(named) & _RECEIVABLE_WORDS:
            return "receivable"
        if set(named) & _REVENUE_WORDS:
            return "revenue"
        return None
    code = key[0] if len(key) == 1 else ""
    if code.startswith("411"):
        return "receivable"
    if code.startswith("70") and len(code) >= 3:
        return "revenue"
    return None


#: what a journal column holds for the sales journal: an FEC's VE (Ventes), VT, VTE;
#: Sales, Sales Journal, Sales Day Book; Verkauf; Ventas; Verkoop, folded, one a line
SALES_JOURNALS = _lines(
    """
    ve
    vt
    vte
    vtes
    ven
    ventes
    vente
    journal des ventes
    journal de ventes
    sales
    sales journal
    sales day book
    sales daybook
    sales book
    sj
    verkauf
    verkaufe
    verkaufsjournal
    ausgangsrechnungen
    ventas
    diario de ventas
    verkoop
    verkopen
    verkoopboek
    """
)


def sales_journal(value: str) -> bool:
    """Whether a journal's code or name is the sales journal's (:data:`SALES_JOURNALS`).

    Examples
    --------
    >>> [sales_journal(v) for v in ("VE", "Ventes", "Sales Journal", "BQ", "Banque", "OD")]
    [True, True, True, False, False, False]
    """
    key = " ".join(w for w in re.split(r"[^a-z0-9]+", fold(value)) if w)
    return key in SALES_JOURNALS


#: what it holds for a line of no sale: a payment, a receipt, a purchase, a journal entry
#: (Tally's Day Book: Receipt, Purchase), folded
NO_SALE_DOCUMENTS = _lines(
    """
    payment
    payments
    receipt
    purchase
    purchases
    purchase invoice
    journal
    contra
    zahlung
    zahlungseingang
    eingangsrechnung
    paiement
    reglement
    pago
    cobro
    betaling
    """
)


def document_kind(value: str) -> bool | None:
    """Whether a document-type value is a return or credit note (True), an invoice
    (False) or neither (None); case, accents and punctuation ignored.

    Examples
    --------
    >>> [document_kind(v) for v in ("Gutschrift", "Credit Memo", "RECHNUNG", "Lieferschein")]
    [True, True, False, None]
    """
    key = " ".join(w for w in re.split(r"[^a-z0-9]+", fold(value)) if w)
    if key in RETURN_DOCUMENTS:
        return True
    if key in INVOICE_DOCUMENTS:
        return False
    return None


def no_sale_document(value: str) -> bool:
    """Whether a document-type value is a line of no sale (a payment, a purchase).

    Examples
    --------
    >>> [no_sale_document(v) for v in ("Receipt", "Zahlung", "Rechnung", "Lieferschein")]
    [True, True, False, False]
    """
    key = " ".join(w for w in re.split(r"[^a-z0-9]+", fold(value)) if w)
    return key in NO_SALE_DOCUMENTS


#: words that carry no meaning in a column name ("am" is German "on", as in Fällig am)


STOPWORDS = frozenset(
    _ws(
        """of the a an al de del la le les el los las du des d l van der die das den het een en
    y et und and in im for fur pour para por pe cu si i von zu au aux da do dos em per pro
    at on to am vom zum"""
    )
)

#: "without" before a tax word makes "net" (Valoare fara TVA, Montant hors taxe)
_WITHOUT = frozenset(
    _ws("without ohne sans sin fara zonder excl exkl excluding exclusive exclusief ex hors")
)
#: "with" before a tax word makes an amount including tax (Betrag inkl. MwSt)
_WITH = frozenset(_ws("with incl inkl including inclusive inclusief avec con cu met"))

#: words short enough to split compounds wrongly: allowed only as a compound's last part
_SHORT_TAILS = frozenset({"id", "nr", "no"})
#: linking letters German and Dutch put between the parts of a compound (Rechnung|s|datum)
_LINKS = ("", "s", "n", "en", "es", "e")

_TOKEN_CONCEPTS: dict[str, frozenset[str]] = {}
for _concept, _words in CONCEPTS.items():
    for _w in _words.split():
        _TOKEN_CONCEPTS[_w] = _TOKEN_CONCEPTS.get(_w, frozenset()) | {_concept}


def fold(text: str) -> str:
    """Lower case without accents (``ß`` → ``ss``, ``æ`` → ``ae``).

    Examples
    --------
    >>> fold("Quantité Straße Preț")
    'quantite strasse pret'
    """
    text = text.replace("ß", "ss").replace("æ", "ae").replace("œ", "oe").replace("ø", "o")
    text = text.replace("Æ", "AE").replace("Œ", "OE").replace("Ø", "O")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def words(name: str) -> list[str]:
    """The meaningful words of a column name, folded, compounds split, stop words dropped.

    Examples
    --------
    >>> words("Kundennummer"), words("SalesOrderNumber"), words("N° de facture")
    (['kunde', 'nummer'], ['sales', 'order', 'number'], ['n', 'facture'])
    >>> words("Valoare fără TVA"), words("CustomerID"), words("Nettowert (column 18)")
    (['valoare', 'net'], ['customer', 'id'], ['netto', 'wert'])
    """
    # a column the run names by its place, its name being in the header twice
    text = re.sub(r"\s*\(column \d+\)$", "", name)
    text = text.replace("%", " pct ").replace("#", " no ").replace("&", " ")
    text = _CAMEL.sub(" ", text.strip())
    folded = fold(text)
    whole = re.sub(r"[^a-z0-9]+", "", folded)
    if whole in ABBREVIATIONS:
        return ABBREVIATIONS[whole].split()
    raw = [w for w in re.split(r"[^a-z0-9]+", folded) if w]
    # a camelCase cut inside one word (MwSt) is joined again
    joined: list[str] = []
    for w in raw:
        lone = joined and not concepts_of(joined[-1]) and not concepts_of(w)
        if lone and concepts_of(joined[-1] + w):
            joined[-1] += w
            continue
        joined.append(w)
    raw = joined
    # digits alone (Address 2) and letters glued to digits (ort01 is an abbreviation)
    out: list[str] = []
    for w in raw:
        if w in ABBREVIATIONS:
            out += ABBREVIATIONS[w].split()
        elif w.isdigit():
            continue
        else:
            out += _split_compound(re.sub(r"\d+$", "", w) or w)
    # phrases ("fara TVA" → net, "sold to" → customer), then again without the stop words
    # ("cifra de afaceri" → ca)
    merged = _phrases(out, counts=True)
    return _phrases([w for w in merged if w not in STOPWORDS])


def _phrases(ws: list[str], *, counts: bool = False) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(ws):
        w = ws[i]
        nxt = ws[i + 1] if i + 1 < len(ws) else ""
        counted = _counted(ws, i) if counts else None
        if w in _WITHOUT and "TAX" in concepts_of(nxt):
            out.append("net")
            i += 2
        elif w in _WITH and "TAX" in concepts_of(nxt):
            out.append("incltax")
            i += 2
        elif nxt and w + nxt in ABBREVIATIONS:
            out += ABBREVIATIONS[w + nxt].split()
            i += 2
        elif counted is not None:
            length, noun = counted
            out += ["count", noun] if concepts_of(noun) else ["count"]
            i += length
        elif counts and "COUNT" in concepts_of(nxt) and _unknown(w) and w not in _EVENTS:
            i += 1  # what a count counts (cd_count): the count says what the column is
        else:
            out.append(w)
            i += 1
    return out


#: what a count may count that is no goods: tries at something, a page's views and clicks
#: (Stripe's Attempt Count, the payment's tries), folded
_EVENTS = frozenset(
    _ws(
        "attempt attempts try tries retry retries login logins view views click clicks error errors"
    )
)
#: words for a number that count the plural after "of" (number of CDs, No. of Items, # of
#: units), and those that count a plural right after them too (num_units, n_orders); before
#: a singular (invoice number, N° de facture, Número de pedido, order no) each identifies
_COUNT_OF = frozenset(_ws("number num nbr no nr n"))
_COUNT_BEFORE = frozenset(_ws("num nbr n"))


def _plural(word: str) -> bool:
    """An English (or Spanish, French) plural: CDs, items, orders, unidades; not a word
    ending in ss, us or is (address, status, analysis)."""
    return len(word) >= 3 and word.endswith("s") and not word.endswith(("ss", "us", "is"))


def _unknown(word: str) -> bool:
    """A word no concept knows, nor a stop word nor a number."""
    return not concepts_of(word) and word not in STOPWORDS and not word.isdigit()


def _counted(ws: list[str], i: int) -> tuple[int, str] | None:
    """The count at ``ws[i]``, if one starts there: how many words it takes and the noun
    counted. "number of" and "no of" before a plural, "num" and "n" before a plural,
    "count of" before any word.

    Examples
    --------
    >>> _counted(["number", "of", "cds"], 0), _counted(["n", "items"], 0)
    ((3, 'cds'), (2, 'items'))
    >>> _counted(["number", "of", "invoice"], 0), _counted(["customer", "number"], 1)
    (None, None)
    """
    w = ws[i]
    nxt = ws[i + 1] if i + 1 < len(ws) else ""
    noun = ws[i + 2] if i + 2 < len(ws) else ""
    if nxt == "of" and noun and ((w in _COUNT_OF and _plural(noun)) or "COUNT" in concepts_of(w)):
        return 3, noun
    if w in _COUNT_BEFORE and _plural(nxt) and nxt not in STOPWORDS:
        return 2, nxt
    return None


def concepts_of(word: str) -> frozenset[str]:
    """The concepts a folded word stands for (empty when the word is unknown).

    Examples
    --------
    >>> sorted(concepts_of("art"))
    ['PRODUCT', 'TYPE']
    """
    found = _TOKEN_CONCEPTS.get(word)
    if found is not None:
        return found
    # a plural the vocabulary lists in the singular
    for suffix in ("s", "en", "es", "e"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            found = _TOKEN_CONCEPTS.get(word[: -len(suffix)])
            if found is not None:
                return found
    return frozenset()


def _known(word: str, last: bool) -> bool:
    if len(word) < 3:
        return last and word in _SHORT_TAILS
    return bool(concepts_of(word))


@cache
def _split_compound(word: str) -> list[str]:
    """``kundennummer`` → ``kunden nummer``: the fewest known parts, linking letters allowed.

    A word that is known as it is, or that cannot be cut wholly into known parts, stays.
    """
    if concepts_of(word) or len(word) < 5:
        return [word]
    best: list[list[str] | None] = [None] * (len(word) + 1)
    best[0] = []
    for end in range(1, len(word) + 1):
        for start in range(end):
            prev = best[start]
            if prev is None:
                continue
            piece = word[start:end]
            for link in _LINKS:
                if link and not piece.startswith(link):
                    continue
                part = piece[len(link) :]
                if not prev and link:
                    continue  # a compound does not start with a linking letter
                if part and _known(part, last=end == len(word)):
                    cand = [*prev, part]
                    cur = best[end]
                    if cur is None or len(cand) < len(cur):
                        best[end] = cand
    found = best[len(word)]
    return found if found and len(found) > 1 else [word]
