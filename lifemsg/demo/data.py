"""The fixed demo organisation. Unit and e-service names are the routine's own (shared/seed/)."""

UNITS = [
    ("ifo-barn-familj", "IFO Barn och familj"),
    ("ifo-vuxen", "IFO vuxen"),
    ("ifo-ekonomiskt-bistand", "IFO Ekonomiskt bistånd"),
    ("ifo-familjeteamet", "IFO Familjeteamet"),
    ("ifo-social-stodteamet", "IFO Social stödteamet"),
    ("vo-bistandshandlaggare", "VO Biståndshandläggare"),
    ("lss-handlaggare", "LSS handläggare"),
]

# slug, name, receiving unit, citizen may start a conversation
ESERVICES = [
    ("ekonomiskt-bistand", "Ansökan om ekonomiskt bistånd", "ifo-ekonomiskt-bistand", False),
    ("meddelande-ifo", "Meddelande IFO – barn och familj samt vuxen", "ifo-barn-familj", True),
    ("stod-lss", "Ansökan om stöd enligt LSS", "lss-handlaggare", False),
    ("stod-aldre", "Ansökan om stöd till äldre", "vo-bistandshandlaggare", False),
    ("inkomstblankett-vo", "Digital inkomstblankett (VO)", "vo-bistandshandlaggare", False),
]

# username, first, last, units (first is the home unit)
HANDLERS = [
    ("anna.andersson", "Anna", "Andersson", ["ifo-barn-familj"]),
    ("bengt.berg", "Bengt", "Berg", ["ifo-barn-familj", "ifo-familjeteamet"]),
    ("cecilia.carlsson", "Cecilia", "Carlsson", ["ifo-barn-familj"]),
    ("david.dahl", "David", "Dahl", ["ifo-vuxen"]),
    ("eva.ek", "Eva", "Ek", ["ifo-vuxen", "ifo-social-stodteamet"]),
    ("fredrik.falk", "Fredrik", "Falk", ["ifo-vuxen"]),
    ("gunilla.gran", "Gunilla", "Gran", ["ifo-ekonomiskt-bistand"]),
    ("hassan.haddad", "Hassan", "Haddad", ["ifo-ekonomiskt-bistand"]),
    ("ingrid.isaksson", "Ingrid", "Isaksson", ["ifo-ekonomiskt-bistand", "ifo-vuxen"]),
    ("johan.jonsson", "Johan", "Jonsson", ["ifo-familjeteamet"]),
    ("karin.karlsson", "Karin", "Karlsson", ["ifo-familjeteamet"]),
    ("lars.lind", "Lars", "Lind", ["ifo-social-stodteamet"]),
    ("maria.mattsson", "Maria", "Mattsson", ["ifo-social-stodteamet"]),
    ("nils.nilsson", "Nils", "Nilsson", ["vo-bistandshandlaggare"]),
    ("olivia.olsson", "Olivia", "Olsson", ["vo-bistandshandlaggare"]),
    ("per.persson", "Per", "Persson", ["vo-bistandshandlaggare", "lss-handlaggare"]),
    ("rebecka.ryd", "Rebecka", "Ryd", ["lss-handlaggare"]),
    ("sara.svensson", "Sara", "Svensson", ["lss-handlaggare"]),
]

# username, first, last, unit
MANAGERS = [
    ("chef.barn", "Birgitta", "Holm", "ifo-barn-familj"),
    ("chef.vuxen", "Viktor", "Lund", "ifo-vuxen"),
    ("chef.ekbistand", "Elin", "Sjöberg", "ifo-ekonomiskt-bistand"),
    ("chef.familjeteamet", "Fatima", "Ali", "ifo-familjeteamet"),
    ("chef.stodteamet", "Stefan", "Wikström", "ifo-social-stodteamet"),
    ("chef.vo", "Ulla", "Bergström", "vo-bistandshandlaggare"),
    ("chef.lss", "Leif", "Strand", "lss-handlaggare"),
]

# username, first, last, role
OFFICE = [
    ("admin.sarskild", "Agneta", "Åberg", "Administratör med särskild behörighet"),
    ("superanvandare", "Sven", "Öberg", "Superanvändare"),
    ("systemforvaltare", "Sofia", "Nyström", "Systemförvaltare"),
    # A retention run is approved by a second person (four eyes): the demo needs two to show it.
    ("systemforvaltare2", "Jonas", "Ek", "Systemförvaltare"),
    ("loggranskare", "Lena", "Forsberg", "Loggranskare"),
]

# personnummer (valid test numbers, Luhn), first, last, protected identity
CITIZENS = [
    ("198001019812", "Alva", "Lindqvist", False),
    ("198203159820", "Oskar", "Bergqvist", False),
    ("197507229834", "Maja", "Sundberg", False),
    ("199011309847", "Elias", "Holmgren", False),
    ("194503049852", "Astrid", "Blom", False),
    ("193812249864", "Gösta", "Sandberg", False),
    ("200102039872", "Wilma", "Engström", False),
    ("198806169887", "Noah", "Hedlund", True),
    ("196609099897", "Ebba", "Lundgren", False),
    ("197904119802", "Hugo", "Axelsson", False),
    ("201503039818", "Leo", "Eklund", False),
    ("199502289821", "Saga", "Dahlberg", False),
]
