"""Names, companies and e-mail domains for demo contacts, per country."""

from __future__ import annotations

import unicodedata

FIRST_NAMES: dict[str, tuple[str, ...]] = {
    "FI": (
        "Aino", "Eino", "Mikko", "Laura", "Juha", "Sanna", "Timo", "Kaisa",
        "Antti", "Heidi", "Ville", "Riikka", "Jukka", "Elina", "Petri", "Noora",
    ),
    "EE": (
        "Mari", "Kadri", "Tõnu", "Andres", "Kristi", "Mart", "Liis", "Jaan",
        "Triin", "Priit", "Kertu", "Rasmus", "Merike", "Tiit",
    ),
    "SE": ("Erik", "Anna", "Lars", "Karin", "Johan", "Emma", "Anders", "Sara", "Oskar", "Maja"),
    "DE": (
        "Lukas", "Anna", "Jonas", "Lea", "Felix", "Laura", "Maximilian", "Katharina",
        "Paul", "Julia",
    ),
    "GB": (
        "Oliver", "Amelia", "George", "Isla", "Harry", "Emily", "Jack", "Sophie",
        "Thomas", "Grace",
    ),
    "NO": ("Ole", "Ingrid", "Magnus", "Nora", "Henrik", "Sofie", "Sander", "Ida"),
    "DK": ("Mads", "Freja", "Mikkel", "Ida", "Rasmus", "Emma", "Christian", "Clara"),
}  # fmt: skip

LAST_NAMES: dict[str, tuple[str, ...]] = {
    "FI": (
        "Virtanen", "Korhonen", "Mäkinen", "Nieminen", "Mäkelä", "Hämäläinen",
        "Laine", "Heikkinen", "Koskinen", "Järvinen", "Lehtonen", "Saarinen",
    ),
    "EE": (
        "Tamm", "Saar", "Sepp", "Mägi", "Kask", "Kukk", "Rebane", "Ilves",
        "Pärn", "Koppel", "Lepik", "Kuusk",
    ),
    "SE": (
        "Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson",
        "Olsson", "Persson", "Lindqvist", "Berg",
    ),
    "DE": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner",
        "Becker", "Hoffmann", "Schäfer",
    ),
    "GB": (
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Evans",
        "Roberts", "Walker", "Wright",
    ),
    "NO": ("Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Pedersen", "Nilsen", "Berg"),
    "DK": (
        "Jensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen",
        "Larsen", "Sørensen",
    ),
}  # fmt: skip

# Company names are "<region> <trade> <legal form>", as these companies tend to be called.
COMPANY_PARTS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, str]] = {
    "FI": (
        ("Pohjolan", "Savon", "Hämeen", "Lapin", "Kymen", "Rannikon", "Järvi-Suomen",
         "Pirkan", "Vaasan", "Oulun", "Karjalan", "Uudenmaan"),
        ("Rakennus", "Sähkö", "Logistiikka", "Kiinteistöhuolto", "Putkityö",
         "Metsäpalvelu", "Maanrakennus", "Kone", "Telakka", "Siivous", "Kuljetus", "Asennus"),
        "Oy",
        "fi",
    ),
    "EE": (
        ("Tallinna", "Tartu", "Pärnu", "Viru", "Saare", "Harju", "Emajõe", "Peipsi",
         "Lääne", "Valga"),
        ("Ehitus", "Elekter", "Logistika", "Haldus", "Torutööd", "Metsatööd", "Masinad",
         "Puhastus", "Transport", "Paigaldus"),
        "OÜ",
        "ee",
    ),
    "SE": (
        ("Norrlands", "Göta", "Mälardalens", "Skåne", "Dala", "Vänerns", "Upplands"),
        ("Bygg", "El", "Logistik", "Fastighetsservice", "VVS", "Skog", "Maskin", "Städ"),
        "AB",
        "se",
    ),
    "DE": (
        ("Nord", "Rhein", "Elbe", "Bayern", "Spree", "Alpen", "Weser"),
        ("Bau", "Elektro", "Logistik", "Gebäudeservice", "Sanitär", "Forst", "Maschinen",
         "Reinigung"),
        "GmbH",
        "de",
    ),
    "GB": (
        ("Northern", "Thames", "Pennine", "Highland", "Severn", "Midland"),
        ("Construction", "Electrical", "Logistics", "Facilities", "Plumbing", "Forestry",
         "Engineering", "Cleaning"),
        "Ltd",
        "co.uk",
    ),
    "NO": (
        ("Nordland", "Fjord", "Vestland", "Trønder", "Oslo"),
        ("Bygg", "Elektro", "Logistikk", "Eiendomsservice", "Rør", "Skog", "Maskin", "Renhold"),
        "AS",
        "no",
    ),
    "DK": (
        ("Jysk", "Fyns", "Sjællands", "Nordsø", "Øresund"),
        ("Byg", "El", "Logistik", "Ejendomsservice", "VVS", "Skov", "Maskin", "Rengøring"),
        "ApS",
        "dk",
    ),
}  # fmt: skip

_FOLD = str.maketrans({"ø": "o", "æ": "ae", "ß": "ss", "å": "a"})


def ascii_slug(text: str, sep: str = "") -> str:
    """'Järvi-Suomen Sähkö' -> 'jarvisuomensahko' (for e-mail addresses)."""
    folded = unicodedata.normalize("NFKD", text.lower().translate(_FOLD))
    kept = "".join(ch for ch in folded if ch.isascii() and (ch.isalnum() or ch == " "))
    return sep.join(kept.split())
