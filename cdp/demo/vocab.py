"""Static vocabulary of the demo retailer: names, places, stores, products, personas and their habits."""

from __future__ import annotations

# fmt: off
# Data tables keep several entries a line: easier to read and review than one entry a line.

# --- first names by birth cohort (born up to 1955, 1956-1972, 1973-1989, from 1990) ---------------------------

FIRST_NAMES_F: tuple[tuple[str, ...], ...] = (
    (
        "Monique", "Jacqueline", "Françoise", "Simone", "Yvette", "Denise", "Josette", "Colette", "Paulette",
        "Marie-Thérèse", "Odette", "Huguette", "Micheline", "Madeleine", "Georgette", "Jeannine", "Ginette",
        "Marcelle", "Andrée", "Suzanne", "Geneviève", "Renée", "Lucienne", "Bernadette", "Arlette", "Gisèle",
        "Marguerite", "Raymonde", "Claudine", "Thérèse",
    ),
    (
        "Martine", "Nathalie", "Isabelle", "Sylvie", "Catherine", "Christine", "Brigitte", "Véronique", "Chantal",
        "Patricia", "Dominique", "Nicole", "Annie", "Corinne", "Valérie", "Pascale", "Michèle", "Danielle",
        "Évelyne", "Laurence", "Marie-Christine", "Joëlle", "Béatrice", "Muriel", "Hélène", "Florence", "Agnès",
        "Élisabeth", "Marie-Claire", "Anne-Marie",
    ),
    (
        "Stéphanie", "Sandrine", "Céline", "Aurélie", "Sophie", "Virginie", "Émilie", "Julie", "Karine", "Caroline",
        "Audrey", "Élodie", "Delphine", "Séverine", "Laetitia", "Mélanie", "Anne-Sophie", "Vanessa", "Amélie",
        "Claire", "Marion", "Jennifer", "Carole", "Cécile", "Alexandra", "Marie-Laure", "Magali", "Estelle",
        "Gaëlle", "Christelle",
    ),
    (
        "Camille", "Manon", "Léa", "Chloé", "Emma", "Sarah", "Laura", "Marie", "Pauline", "Mathilde", "Inès",
        "Océane", "Justine", "Clara", "Anaïs", "Lucie", "Charlotte", "Juliette", "Margaux", "Morgane", "Jade",
        "Louise", "Alice", "Zoé", "Lola", "Maëlle", "Agathe", "Éloïse", "Romane", "Noémie",
    ),
)

FIRST_NAMES_M: tuple[tuple[str, ...], ...] = (
    (
        "Jean", "Pierre", "André", "Marcel", "René", "Roger", "Robert", "Louis", "Henri", "Georges", "Raymond",
        "Maurice", "Lucien", "Paul", "Jacques", "Gérard", "Roland", "Albert", "Fernand", "Guy", "Claude",
        "Bernard", "Jean-Claude", "Michel", "Gilbert", "Yves", "Joseph", "Émile", "Gaston", "Marius",
    ),
    (
        "Philippe", "Patrick", "Alain", "Thierry", "Pascal", "Éric", "Didier", "Jean-Pierre", "Jean-Luc",
        "Christian", "Daniel", "Denis", "Francis", "Serge", "Jean-Marc", "Jean-François", "Gilles", "Bruno",
        "Hervé", "Joël", "Laurent", "Frédéric", "Olivier", "Jean-Michel", "Marc", "Bertrand", "Régis", "Franck",
        "Dominique", "Lionel",
    ),
    (
        "Nicolas", "Sébastien", "Christophe", "Stéphane", "David", "Julien", "Cédric", "Jérôme", "Fabien",
        "Guillaume", "Vincent", "Mickaël", "Anthony", "Arnaud", "Grégory", "Ludovic", "Damien", "Yannick",
        "Benoît", "Mathieu", "Sylvain", "Jean-Baptiste", "Emmanuel", "Xavier", "Alexandre", "Romain", "François",
        "Samuel", "Jérémy", "Cyril",
    ),
    (
        "Thomas", "Lucas", "Hugo", "Théo", "Maxime", "Kevin", "Quentin", "Antoine", "Clément", "Alexis", "Louis",
        "Nathan", "Baptiste", "Valentin", "Florian", "Adrien", "Pierre-Louis", "Enzo", "Mathis", "Tom", "Gabriel",
        "Raphaël", "Arthur", "Jules", "Paul", "Léo", "Nolan", "Timothée", "Victor", "Axel",
    ),
)

COHORT_LAST_BIRTH_YEAR: tuple[int, ...] = (1955, 1972, 1989, 9999)

# Short forms and spellings people give at a till or on a web form.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Jean-Pierre": ("JP", "Jean Pierre", "Jean"),
    "Jean-Claude": ("JC", "Jean Claude"),
    "Jean-Luc": ("JL", "Jean Luc"),
    "Jean-François": ("JF", "Jean François"),
    "Jean-Marc": ("Jean Marc",),
    "Jean-Michel": ("JM", "Jean Michel"),
    "Jean-Baptiste": ("JB", "Jean Baptiste"),
    "Pierre-Louis": ("Pierre Louis", "PL"),
    "Marie-Christine": ("Marie Christine", "Marie"),
    "Marie-Claire": ("Marie Claire",),
    "Marie-Laure": ("Marie Laure",),
    "Marie-Thérèse": ("Marie Thérèse",),
    "Anne-Marie": ("Anne Marie", "Anne"),
    "Anne-Sophie": ("Anne Sophie", "AS"),
    "Catherine": ("Cathy",),
    "Alexandre": ("Alex",),
    "Alexandra": ("Alex", "Sandra"),
    "Alexis": ("Alex",),
    "Christophe": ("Chris",),
    "Nicolas": ("Nico",),
    "Frédéric": ("Fred",),
    "Stéphanie": ("Steph", "Fanny"),
    "Stéphane": ("Steph",),
    "Sébastien": ("Seb",),
    "Maxime": ("Max",),
    "Valérie": ("Val",),
    "Valentin": ("Val",),
    "Véronique": ("Véro",),
    "Dominique": ("Dom",),
    "Thomas": ("Tom",),
    "Philippe": ("Phil",),
    "Isabelle": ("Isa",),
    "Élisabeth": ("Babeth", "Élise"),
    "Emmanuel": ("Manu",),
    "Anthony": ("Tony",),
    "Raphaël": ("Raph",),
    "Timothée": ("Tim",),
    "Gabriel": ("Gaby",),
    "Charlotte": ("Charlie",),
    "Margaux": ("Margot",),
    "Laetitia": ("Laeti",),
    "Jennifer": ("Jenny",),
    "Patricia": ("Patty",),
    "Béatrice": ("Béa",),
    "Florence": ("Flo",),
    "Florian": ("Flo",),
    "Caroline": ("Caro",),
    "Mickaël": ("Mika", "Michael"),
    "Grégory": ("Greg",),
    "Ludovic": ("Ludo",),
    "Clément": ("Clem",),
    "Jacqueline": ("Jacky",),
    "Jacques": ("Jacky",),
    "Joseph": ("Jo",),
    "Josette": ("Jo",),
    "Benoît": ("Ben",),
    "Mathieu": ("Matt",),
}

# --- family names, most frequent first ------------------------------------------------------------------------

LAST_NAMES: tuple[str, ...] = (
    "Martin", "Bernard", "Thomas", "Petit", "Robert", "Richard", "Durand", "Dubois", "Moreau", "Laurent",
    "Simon", "Michel", "Lefebvre", "Leroy", "Roux", "David", "Bertrand", "Morel", "Fournier", "Girard",
    "Bonnet", "Dupont", "Lambert", "Fontaine", "Rousseau", "Vincent", "Muller", "Lefèvre", "Faure", "André",
    "Mercier", "Blanc", "Guérin", "Boyer", "Garnier", "Chevalier", "François", "Legrand", "Gauthier", "Garcia",
    "Perrin", "Robin", "Clément", "Morin", "Nicolas", "Henry", "Roussel", "Mathieu", "Gautier", "Masson",
    "Marchand", "Duval", "Denis", "Dumont", "Marie", "Lemaire", "Noël", "Meyer", "Dufour", "Meunier",
    "Brun", "Blanchard", "Giraud", "Joly", "Rivière", "Lucas", "Brunet", "Gaillard", "Barbier", "Arnaud",
    "Martinez", "Gérard", "Roche", "Renard", "Schmitt", "Roy", "Leroux", "Colin", "Vidal", "Caron",
    "Picard", "Roger", "Fabre", "Aubert", "Lemoine", "Renaud", "Dumas", "Lacroix", "Olivier", "Philippe",
    "Bourgeois", "Pierre", "Benoît", "Rey", "Leclerc", "Payet", "Rolland", "Leclercq", "Guillaume", "Lecomte",
    "Lopez", "Jean", "Dupuy", "Guillot", "Hubert", "Berger", "Carpentier", "Sanchez", "Dupuis", "Moulin",
    "Louis", "Deschamps", "Huet", "Vasseur", "Perez", "Boucher", "Fleury", "Royer", "Klein", "Jacquet",
    "Adam", "Paris", "Poirier", "Marty", "Aubry", "Guyot", "Carré", "Charles", "Renault", "Charpentier",
    "Ménard", "Maillard", "Baron", "Bertin", "Bailly", "Hervé", "Schneider", "Fernandez", "Le Gall", "Collet",
    "Léger", "Bouvier", "Julien", "Prévost", "Millet", "Perrot", "Daniel", "Le Roux", "Cousin", "Germain",
    "Breton", "Besson", "Langlois", "Rémy", "Le Goff", "Pelletier", "Lévêque", "Perrier", "Leblanc", "Barré",
    "Lebrun", "Marchal", "Weber", "Mallet", "Hamon", "Boulanger", "Jacob", "Monnier", "Michaud", "Rodriguez",
    "Guichard", "Gillet", "Étienne", "Grondin", "Poulain", "Tessier", "Chevallier", "Collin", "Chauvin",
    "Da Silva", "Bouchet", "Gay", "Lemaître", "Bénard", "Maréchal", "Humbert", "Reynaud", "Antoine", "Hoarau",
    "Perret", "Barthélemy", "Cordier", "Pichon", "Lejeune", "Gilbert", "Lamy", "Delaunay", "Pasquier",
    "Carlier", "Laporte", "Gonzalez", "Bouvet", "Riviere", "Ferrand", "Rault", "Texier", "Godard", "Lenoir",
    "Hamel", "Tanguy", "Courtois", "Chartier", "Pons", "Marechal", "Thibault", "Vallée", "Dos Santos",
    "Fischer", "Bigot", "Mahé", "Labbé", "Leconte", "Lebon", "Grenier", "Besnard", "Brunel", "Mathis",
    "Delattre", "Hoareau", "Ollivier", "De Oliveira", "Ferreira", "Gomez", "Navarro", "Barbe", "Bodin",
    "Ribeiro", "Vaillant", "Jourdan", "Lefort", "Couturier", "Bouchard", "Lopes", "Bousquet", "Guillou",
    "Descamps", "Auger", "Maury", "Teixeira", "Vial", "Levy", "Tournier", "Didier", "Fabre-Martin",
    "Saint-Martin", "Hebert", "Joubert", "Camus", "Hardy", "Lemaitre", "Rossi", "Costa", "Guillon", "Raynaud",
)

# --- places: (city, postcodes, population weight, store, landline prefix) ------------------------------------

CITIES: tuple[tuple[str, tuple[str, ...], int, str, str], ...] = (
    ("Paris", tuple(f"750{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 16, 17)), 130, "PAR-01", "01"),
    ("Paris", tuple(f"750{n:02d}" for n in (11, 12, 13, 14, 18, 19, 20)), 95, "PAR-02", "01"),
    ("Boulogne-Billancourt", ("92100",), 12, "PAR-01", "01"),
    ("Neuilly-sur-Seine", ("92200",), 6, "PAR-01", "01"),
    ("Levallois-Perret", ("92300",), 6, "PAR-01", "01"),
    ("Issy-les-Moulineaux", ("92130",), 7, "PAR-01", "01"),
    ("Versailles", ("78000",), 9, "PAR-01", "01"),
    ("Saint-Germain-en-Laye", ("78100",), 4, "PAR-01", "01"),
    ("Courbevoie", ("92400",), 8, "PAR-01", "01"),
    ("Rueil-Malmaison", ("92500",), 8, "PAR-01", "01"),
    ("Nanterre", ("92000",), 9, "PAR-01", "01"),
    ("Montreuil", ("93100",), 11, "PAR-02", "01"),
    ("Vincennes", ("94300",), 5, "PAR-02", "01"),
    ("Saint-Maur-des-Fossés", ("94100", "94210"), 7, "PAR-02", "01"),
    ("Créteil", ("94000",), 9, "PAR-02", "01"),
    ("Vitry-sur-Seine", ("94400",), 9, "PAR-02", "01"),
    ("Saint-Denis", ("93200", "93210"), 11, "PAR-02", "01"),
    ("Aubervilliers", ("93300",), 8, "PAR-02", "01"),
    ("Noisy-le-Grand", ("93160",), 6, "PAR-02", "01"),
    ("Champigny-sur-Marne", ("94500",), 7, "PAR-02", "01"),
    ("Meaux", ("77100",), 5, "PAR-02", "01"),
    ("Lyon", ("69001", "69002", "69003", "69004", "69005", "69006"), 40, "LYO-01", "04"),
    ("Lyon", ("69007", "69008", "69009"), 22, "LYO-02", "04"),
    ("Caluire-et-Cuire", ("69300",), 4, "LYO-01", "04"),
    ("Écully", ("69130",), 2, "LYO-01", "04"),
    ("Villefranche-sur-Saône", ("69400",), 4, "LYO-01", "04"),
    ("Villeurbanne", ("69100",), 15, "LYO-02", "04"),
    ("Vénissieux", ("69200",), 6, "LYO-02", "04"),
    ("Bron", ("69500",), 4, "LYO-02", "04"),
    ("Vaulx-en-Velin", ("69120",), 5, "LYO-02", "04"),
    ("Saint-Étienne", ("42000", "42100"), 17, "LYO-02", "04"),
    ("Marseille", tuple(f"130{n:02d}" for n in range(1, 17)), 85, "MAR-01", "04"),
    ("Aix-en-Provence", ("13090", "13100"), 14, "MAR-01", "04"),
    ("Aubagne", ("13400",), 5, "MAR-01", "04"),
    ("Toulon", ("83000", "83100", "83200"), 17, "MAR-01", "04"),
    ("La Ciotat", ("13600",), 3, "MAR-01", "04"),
    ("Martigues", ("13500",), 5, "MAR-01", "04"),
    ("Toulouse", ("31000", "31100", "31200", "31300", "31400", "31500"), 48, "TLS-01", "05"),
    ("Colomiers", ("31770",), 4, "TLS-01", "05"),
    ("Blagnac", ("31700",), 3, "TLS-01", "05"),
    ("Tournefeuille", ("31170",), 3, "TLS-01", "05"),
    ("Montauban", ("82000",), 6, "TLS-01", "05"),
    ("Bordeaux", ("33000", "33100", "33200", "33300", "33800"), 26, "BDX-01", "05"),
    ("Mérignac", ("33700",), 7, "BDX-01", "05"),
    ("Pessac", ("33600",), 6, "BDX-01", "05"),
    ("Talence", ("33400",), 4, "BDX-01", "05"),
    ("Arcachon", ("33120",), 1, "BDX-01", "05"),
    ("Libourne", ("33500",), 2, "BDX-01", "05"),
    ("Lille", ("59000", "59160", "59260", "59800"), 23, "LIL-01", "03"),
    ("Roubaix", ("59100",), 10, "LIL-01", "03"),
    ("Tourcoing", ("59200",), 10, "LIL-01", "03"),
    ("Villeneuve-d'Ascq", ("59650", "59491"), 6, "LIL-01", "03"),
    ("Marcq-en-Barœul", ("59700",), 4, "LIL-01", "03"),
    ("Arras", ("62000",), 4, "LIL-01", "03"),
    ("Lens", ("62300",), 3, "LIL-01", "03"),
    ("Nantes", ("44000", "44100", "44200", "44300"), 31, "NAN-01", "02"),
    ("Saint-Herblain", ("44800",), 4, "NAN-01", "02"),
    ("Rezé", ("44400",), 4, "NAN-01", "02"),
    ("Saint-Nazaire", ("44600",), 7, "NAN-01", "02"),
    ("Angers", ("49000", "49100"), 15, "NAN-01", "02"),
    ("La Roche-sur-Yon", ("85000",), 5, "NAN-01", "02"),
    ("Nice", ("06000", "06100", "06200", "06300"), 34, "NCE-01", "04"),
    ("Antibes", ("06600",), 7, "NCE-01", "04"),
    ("Cannes", ("06400", "06150"), 7, "NCE-01", "04"),
    ("Grasse", ("06130",), 5, "NCE-01", "04"),
    ("Menton", ("06500",), 3, "NCE-01", "04"),
    ("Cagnes-sur-Mer", ("06800",), 5, "NCE-01", "04"),
    ("Strasbourg", ("67000", "67100", "67200"), 28, "STR-01", "03"),
    ("Schiltigheim", ("67300",), 3, "STR-01", "03"),
    ("Illkirch-Graffenstaden", ("67400",), 3, "STR-01", "03"),
    ("Colmar", ("68000",), 7, "STR-01", "03"),
    ("Mulhouse", ("68100", "68200"), 11, "STR-01", "03"),
    ("Haguenau", ("67500",), 3, "STR-01", "03"),
    ("Rennes", ("35000", "35200", "35700"), 22, "REN-01", "02"),
    ("Cesson-Sévigné", ("35510",), 2, "REN-01", "02"),
    ("Saint-Malo", ("35400",), 5, "REN-01", "02"),
    ("Vannes", ("56000",), 5, "REN-01", "02"),
    ("Saint-Brieuc", ("22000",), 4, "REN-01", "02"),
    ("Brest", ("29200",), 14, "REN-01", "02"),
)

STORES: tuple[str, ...] = (
    "PAR-01", "PAR-02", "LYO-01", "LYO-02", "MAR-01", "TLS-01", "BDX-01", "LIL-01", "NAN-01", "NCE-01", "STR-01",
    "REN-01",
)
SUNDAY_STORES: frozenset[str] = frozenset({"PAR-01", "PAR-02", "MAR-01", "NCE-01"})

STREET_TYPES: tuple[tuple[str, int], ...] = (
    ("rue", 60), ("avenue", 12), ("boulevard", 7), ("allée", 6), ("impasse", 4), ("chemin", 4), ("place", 3),
    ("route", 3), ("quai", 1),
)
STREET_ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "rue": ("r.", "R", "RUE"),
    "avenue": ("av.", "ave", "AV"),
    "boulevard": ("bd", "bld", "BD"),
    "allée": ("all.", "allee"),
    "impasse": ("imp.", "imp"),
    "chemin": ("ch.", "chem."),
    "place": ("pl.", "pl"),
    "route": ("rte", "rte."),
    "quai": ("q.",),
}
STREET_NAMES: tuple[str, ...] = (
    "Victor Hugo", "Jean Jaurès", "de la République", "Pasteur", "Gambetta", "du Général de Gaulle", "de la Gare",
    "des Écoles", "de l'Église", "du Moulin", "des Lilas", "Voltaire", "Émile Zola", "Jules Ferry", "de la Liberté",
    "Nationale", "du Stade", "de la Paix", "Saint-Michel", "du Château", "Molière", "des Tilleuls", "des Acacias",
    "de Verdun", "Carnot", "du Maréchal Foch", "Anatole France", "Paul Bert", "Aristide Briand", "de Paris",
    "du Commerce", "des Roses", "Louis Pasteur", "Jean Moulin", "des Peupliers", "du 8 Mai 1945",
    "du 11 Novembre", "Marcel Pagnol", "Albert Camus", "Georges Brassens", "des Marronniers", "de la Mairie",
    "des Vignes", "de la Fontaine", "du Port", "des Cerisiers", "Lamartine", "Saint-Exupéry", "de Bretagne",
    "du Stade Municipal", "Charles Péguy", "de la Forêt", "des Jardins", "de Provence", "Édouard Herriot",
    "Léon Blum", "du Parc", "des Prés", "du Lavoir", "Sadi Carnot",
)
ADDRESS_COMPLEMENTS: tuple[str, ...] = (
    "Apt 12", "Bât B", "Résidence les Pins", "Appartement 4", "3e étage", "Bât A, esc. 2", "Résidence du Parc",
    "App. 21", "Porte 5", "chez M. et Mme",
)

# --- contacts -------------------------------------------------------------------------------------------------

EMAIL_DOMAINS: tuple[tuple[str, int], ...] = (
    ("gmail.com", 36), ("orange.fr", 14), ("hotmail.fr", 9), ("yahoo.fr", 7), ("free.fr", 7), ("sfr.fr", 5),
    ("laposte.net", 5), ("outlook.fr", 5), ("wanadoo.fr", 4), ("icloud.com", 4), ("hotmail.com", 2),
    ("live.fr", 2),
)

# --- catalogue: category -> (budget label, premium label, [(base name, standard price in cents, tiers)]) -------
# tiers: "b" budget, "s" standard, "p" premium variant of the same product.

CATEGORIES: tuple[str, ...] = (
    "fresh_food", "grocery", "premium_food", "wine", "baby", "toys", "home", "garden", "beauty", "textile", "gifts",
    "electronics",
)

CATEGORY_CODES: dict[str, str] = {
    "fresh_food": "FRS", "grocery": "GRO", "premium_food": "PRM", "wine": "WIN", "baby": "BAB", "toys": "TOY",
    "home": "HOM", "garden": "GAR", "beauty": "BEA", "textile": "TEX", "gifts": "GFT", "electronics": "ELC",
}

PRODUCTS: dict[str, tuple[str, str, tuple[tuple[str, int, str], ...]]] = {
    "fresh_food": ("prix mini", "bio", (
        ("Pommes Golden 1 kg", 249, "bsp"), ("Bananes 1 kg", 199, "bsp"), ("Tomates grappe 500 g", 229, "bsp"),
        ("Poulet fermier entier", 999, "sp"), ("Steak haché 5 % x4", 599, "bsp"), ("Yaourts nature x8", 189, "bsp"),
        ("Lait demi-écrémé 1 L", 109, "bsp"), ("Baguette tradition", 119, "sp"), ("Comté 12 mois 250 g", 469, "sp"),
        ("Saumon fumé 4 tranches", 649, "bsp"), ("Œufs plein air x12", 389, "sp"), ("Carottes 1 kg", 149, "bsp"),
        ("Salade iceberg", 99, "bs"), ("Jambon blanc 4 tranches", 299, "bsp"), ("Beurre doux 250 g", 259, "bsp"),
        ("Filets de cabillaud 400 g", 899, "sp"), ("Fraises 500 g", 399, "sp"),
    )),
    "grocery": ("premier prix", "bio", (
        ("Café moulu 250 g", 349, "bsp"), ("Pâtes spaghetti 500 g", 119, "bsp"), ("Riz basmati 1 kg", 279, "bsp"),
        ("Huile d'olive 1 L", 899, "bsp"), ("Céréales muesli 500 g", 329, "bsp"), ("Chocolat noir 200 g", 249, "bsp"),
        ("Confiture de fraises 370 g", 259, "bsp"), ("Eau minérale 6 x 1,5 L", 329, "bs"),
        ("Jus d'orange 1 L", 219, "bsp"), ("Biscuits petit-beurre", 169, "bs"), ("Sucre en poudre 1 kg", 139, "bs"),
        ("Farine de blé 1 kg", 109, "bsp"), ("Thon au naturel x3", 499, "bs"), ("Lessive liquide 2 L", 899, "bsp"),
        ("Papier toilette x12", 549, "bs"), ("Liquide vaisselle 750 ml", 189, "bsp"),
        ("Sauce tomate 500 g", 159, "bsp"), ("Thé vert 25 sachets", 239, "sp"),
    )),
    "premium_food": ("", "grande sélection", (
        ("Foie gras de canard entier 180 g", 2490, "sp"), ("Caviar d'Aquitaine 30 g", 5900, "sp"),
        ("Truffes au chocolat 250 g", 1290, "sp"), ("Huile d'olive AOP vallée des Baux", 1990, "sp"),
        ("Jambon ibérique 100 g", 1190, "sp"), ("Saumon d'Écosse label rouge 200 g", 1390, "sp"),
        ("Macarons assortis x12", 1450, "sp"), ("Fromages affinés plateau", 1890, "sp"),
        ("Miel de lavande 500 g", 990, "sp"), ("Terrine de campagne artisanale", 690, "sp"),
        ("Épices du monde coffret", 1590, "sp"), ("Thé Darjeeling premier flush", 1290, "sp"),
        ("Café grand cru en grains 500 g", 1490, "sp"), ("Huîtres fines de claire n°3 x24", 2290, "sp"),
        ("Bûche pâtissière 6 parts", 2190, "sp"), ("Chapon fermier", 3990, "sp"),
    )),
    "wine": ("", "bio", (
        ("Bordeaux AOC rouge 75 cl", 699, "sp"), ("Côtes du Rhône rouge 75 cl", 599, "sp"),
        ("Chablis blanc 75 cl", 1490, "sp"), ("Champagne brut 75 cl", 2990, "sp"),
        ("Crémant d'Alsace 75 cl", 999, "sp"), ("Rosé de Provence 75 cl", 899, "sp"),
        ("Saint-Émilion grand cru 75 cl", 2490, "sp"), ("Sancerre blanc 75 cl", 1690, "sp"),
        ("Beaujolais nouveau 75 cl", 799, "s"), ("Muscadet sèvre-et-maine 75 cl", 649, "sp"),
        ("Bière blonde 6 x 25 cl", 549, "sp"), ("Cidre brut 75 cl", 349, "sp"), ("Whisky single malt 70 cl", 3490, "s"),
        ("Cognac VSOP 70 cl", 4290, "s"), ("Pastis 1 L", 2290, "s"), ("Gewurztraminer 75 cl", 1190, "sp"),
        ("Pessac-Léognan rouge 75 cl", 2190, "sp"), ("Vin de table rouge 1 L", 299, "s"),
    )),
    "baby": ("éco", "bio", (
        ("Couches taille 3 x52", 1590, "bsp"), ("Couches taille 4 x46", 1590, "bsp"),
        ("Lingettes bébé x64", 249, "bsp"), ("Lait infantile 2e âge 800 g", 1990, "sp"),
        ("Petits pots légumes x2", 279, "sp"), ("Biberon anti-colique 260 ml", 1290, "sp"),
        ("Body coton x3", 1499, "bsp"), ("Gigoteuse 6-18 mois", 3490, "sp"),
        ("Liniment oléo-calcaire 500 ml", 699, "sp"), ("Tétines x2", 799, "sp"), ("Gel lavant bébé 500 ml", 549, "sp"),
        ("Compotes gourdes x4", 329, "bsp"), ("Poussette canne", 8990, "sp"), ("Siège auto groupe 0+", 12990, "sp"),
        ("Doudou lapin", 1990, "s"), ("Chauffe-biberon", 3990, "s"),
    )),
    "toys": ("", "coffret", (
        ("Jeu de construction 500 pièces", 2999, "sp"), ("Poupée mannequin", 1999, "sp"),
        ("Puzzle 1000 pièces", 1499, "sp"), ("Jeu de société familial", 2499, "sp"),
        ("Voiture télécommandée", 3999, "sp"), ("Peluche ours 40 cm", 1999, "s"), ("Ballon de football", 999, "s"),
        ("Pâte à modeler x8", 899, "sp"), ("Circuit de billes", 3499, "sp"), ("Figurines animaux x12", 1299, "s"),
        ("Trottinette enfant", 4999, "sp"), ("Jeu de cartes", 499, "s"), ("Coffret loisirs créatifs", 1999, "sp"),
        ("Livre d'éveil", 999, "s"), ("Cuisine en bois", 7999, "s"), ("Robot programmable", 5999, "sp"),
    )),
    "home": ("basique", "premium", (
        ("Poêle antiadhésive 28 cm", 2499, "bsp"), ("Set de 6 verres", 1299, "bsp"),
        ("Parure de lit 240 x 260", 4999, "bsp"), ("Serviettes de bain x2", 1999, "bsp"),
        ("Bougie parfumée", 899, "bsp"), ("Coussin déco 40 x 40", 1299, "bsp"),
        ("Boîtes de conservation x5", 1499, "bs"), ("Ampoules LED x4", 999, "bs"), ("Cadre photo 20 x 30", 799, "bs"),
        ("Plaid polaire", 1999, "bsp"), ("Casserole inox 18 cm", 2999, "bsp"), ("Vaisselle 18 pièces", 3999, "bsp"),
        ("Rideaux occultants x2", 3499, "bsp"), ("Tapis salon 120 x 170", 5999, "bsp"),
        ("Lampe de chevet", 2499, "bsp"), ("Couteaux de cuisine x3", 2999, "sp"),
    )),
    "garden": ("éco", "pro", (
        ("Terreau universel 40 L", 699, "bsp"), ("Tuyau d'arrosage 20 m", 2499, "bsp"), ("Sécateur", 1499, "bsp"),
        ("Graines de tomates", 249, "bs"), ("Géraniums x3", 899, "bs"), ("Engrais gazon 5 kg", 1999, "bsp"),
        ("Salon de jardin 4 places", 29900, "sp"), ("Barbecue charbon", 8999, "bsp"),
        ("Tondeuse électrique", 14900, "sp"), ("Charbon de bois 10 kg", 1199, "bs"), ("Jardinière 80 cm", 1299, "bs"),
        ("Parasol 3 m", 5999, "bsp"), ("Gants de jardinage", 699, "bsp"), ("Arrosoir 10 L", 999, "bs"),
    )),
    "beauty": ("essentiel", "bio", (
        ("Shampooing 250 ml", 399, "bsp"), ("Gel douche 250 ml", 249, "bsp"),
        ("Crème hydratante visage 50 ml", 1290, "bsp"), ("Dentifrice 75 ml", 229, "bsp"),
        ("Déodorant 150 ml", 349, "bsp"), ("Mascara volume", 1190, "sp"), ("Rouge à lèvres", 990, "sp"),
        ("Eau de toilette 100 ml", 3990, "sp"), ("Crème solaire SPF 50 200 ml", 1490, "bsp"),
        ("Savon de Marseille", 299, "bsp"), ("Rasoirs jetables x10", 599, "bs"), ("Coton démaquillant x80", 199, "bs"),
        ("Huile sèche corps 100 ml", 1690, "sp"), ("Vernis à ongles", 690, "s"),
    )),
    "textile": ("basique", "coton bio", (
        ("T-shirt homme", 999, "bsp"), ("T-shirt femme", 999, "bsp"), ("Jean coupe droite", 3999, "bsp"),
        ("Chaussettes x5", 999, "bsp"), ("Pull col rond", 2999, "bsp"), ("Veste imperméable", 5999, "sp"),
        ("Pyjama enfant", 1499, "bsp"), ("Baskets enfant", 2999, "bs"), ("Cartable primaire", 3499, "sp"),
        ("Écharpe laine", 1999, "sp"), ("Sweat à capuche", 2499, "bsp"), ("Robe d'été", 2999, "bsp"),
        ("Maillot de bain", 1999, "bs"), ("Chemise homme", 2999, "bsp"),
    )),
    "gifts": ("", "coffret prestige", (
        ("Coffret chocolats fins", 2490, "sp"), ("Carte cadeau 20 €", 2000, "s"), ("Carte cadeau 50 €", 5000, "s"),
        ("Bouquet de fleurs", 2990, "sp"), ("Coffret bien-être", 3990, "sp"), ("Coffret gourmand", 4990, "sp"),
        ("Boule à neige", 990, "s"), ("Décoration de Noël assortie", 1290, "sp"), ("Sapin de Noël 1,5 m", 3990, "sp"),
        ("Papier cadeau 3 rouleaux", 599, "s"), ("Calendrier de l'Avent", 1290, "sp"), ("Bougies de fête", 499, "s"),
        ("Coffret thé et tasse", 2490, "sp"), ("Orchidée en pot", 1990, "sp"),
    )),
    "electronics": ("entrée de gamme", "premium", (
        ("Écouteurs sans fil", 4999, "bsp"), ("Câble USB-C 1 m", 999, "bs"), ("Chargeur rapide 20 W", 1999, "bs"),
        ("Enceinte Bluetooth", 5999, "bsp"), ("Piles AA x8", 699, "bs"), ("Clé USB 64 Go", 1299, "bs"),
        ("Souris sans fil", 1999, "bsp"), ("Tablette 10 pouces", 19900, "sp"), ("Montre connectée", 12900, "sp"),
        ("Bouilloire électrique", 2999, "bsp"), ("Cafetière à capsules", 8999, "sp"), ("Sèche-cheveux", 3499, "bsp"),
        ("Aspirateur balai", 19900, "sp"), ("Ampoule connectée", 1999, "s"),
    )),
}

TIER_PRICE_FACTORS: dict[str, float] = {"b": 0.7, "s": 1.0, "p": 1.55}

# Typical quantity bought per line, and how often a line is brought back.
CATEGORY_QUANTITY: dict[str, float] = {
    "fresh_food": 1.6, "grocery": 1.8, "premium_food": 1.15, "wine": 1.8, "baby": 1.5, "toys": 1.05, "home": 1.1,
    "garden": 1.3, "beauty": 1.25, "textile": 1.2, "gifts": 1.05, "electronics": 1.0,
}
CATEGORY_RETURN_RATE: dict[str, float] = {
    "fresh_food": 0.002, "grocery": 0.008, "premium_food": 0.01, "wine": 0.01, "baby": 0.05, "toys": 0.1,
    "home": 0.1, "garden": 0.07, "beauty": 0.025, "textile": 0.2, "gifts": 0.06, "electronics": 0.14,
}
CATEGORY_PROMO_FACTOR: dict[str, float] = {
    "fresh_food": 0.8, "grocery": 1.0, "premium_food": 0.7, "wine": 1.0, "baby": 1.0, "toys": 1.2, "home": 1.0,
    "garden": 1.0, "beauty": 1.0, "textile": 1.3, "gifts": 0.6, "electronics": 1.0,
}

# Month multipliers (January first) of each category's share of the basket.
CATEGORY_SEASONS: dict[str, tuple[float, ...]] = {
    "fresh_food": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.9, 1.0, 1.0, 1.0, 1.1),
    "grocery": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 1.05, 1.0, 1.0, 1.0),
    "premium_food": (0.8, 0.9, 0.9, 1.3, 0.9, 0.9, 0.8, 0.8, 0.9, 1.0, 1.3, 3.0),
    "wine": (0.8, 0.9, 0.9, 1.0, 1.0, 1.2, 1.1, 1.0, 1.6, 1.5, 1.2, 2.5),
    "baby": (1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.1, 1.0, 1.0),
    "toys": (0.6, 0.7, 0.7, 0.9, 0.7, 0.7, 0.8, 0.9, 1.0, 1.1, 2.4, 4.0),
    "home": (1.4, 1.0, 1.0, 1.0, 0.9, 0.9, 1.0, 1.0, 1.3, 1.0, 1.0, 1.1),
    "garden": (0.3, 0.6, 1.5, 2.6, 3.0, 2.5, 1.8, 1.0, 0.8, 0.5, 0.3, 0.3),
    "beauty": (1.0, 1.0, 1.0, 1.0, 1.1, 1.3, 1.4, 1.2, 0.9, 0.9, 1.0, 1.3),
    "textile": (1.5, 1.0, 1.0, 1.0, 1.0, 1.2, 1.5, 1.7, 1.8, 1.0, 1.0, 1.1),
    "gifts": (0.6, 1.5, 0.6, 0.7, 1.6, 1.4, 0.6, 0.5, 0.6, 0.8, 1.8, 4.5),
    "electronics": (1.0, 0.8, 0.8, 0.8, 0.8, 0.9, 0.9, 1.1, 1.4, 1.0, 1.8, 2.2),
}

# Month multipliers of how often people shop at all.
SHOPPING_SEASON: tuple[float, ...] = (0.9, 0.9, 1.0, 1.0, 1.0, 1.0, 0.95, 0.85, 1.1, 1.0, 1.2, 1.6)
GIFT_SEASON: tuple[float, ...] = (0.4, 1.1, 0.4, 0.5, 1.4, 1.2, 0.4, 0.3, 0.4, 0.6, 2.2, 5.0)

# Weekday weights, Monday first: store visits, store visits once retired, web orders.
STORE_WEEKDAYS: tuple[float, ...] = (0.75, 0.8, 1.0, 0.85, 1.1, 1.55, 0.25)
RETIRED_STORE_WEEKDAYS: tuple[float, ...] = (1.25, 1.2, 1.2, 1.2, 1.15, 0.6, 0.15)
WEB_WEEKDAYS: tuple[float, ...] = (1.05, 1.0, 1.0, 1.0, 0.9, 0.85, 1.2)

# Hour weights: stores open 8:00-21:00 (Sunday morning only), the web all day long.
STORE_HOURS: tuple[tuple[int, float], ...] = (
    (8, 0.4), (9, 0.8), (10, 1.2), (11, 1.5), (12, 1.3), (13, 0.8), (14, 0.8), (15, 0.9), (16, 1.1), (17, 1.5),
    (18, 1.7), (19, 1.3), (20, 0.5),
)
RETIRED_STORE_HOURS: tuple[tuple[int, float], ...] = (
    (8, 0.6), (9, 1.6), (10, 2.0), (11, 1.7), (12, 0.7), (13, 0.3), (14, 0.9), (15, 1.1), (16, 0.8), (17, 0.4),
    (18, 0.3), (19, 0.2),
)
SUNDAY_HOURS: tuple[tuple[int, float], ...] = ((9, 0.8), (10, 1.4), (11, 1.6), (12, 1.0))
WEB_HOURS: tuple[tuple[int, float], ...] = (
    (0, 0.3), (1, 0.15), (2, 0.08), (3, 0.05), (4, 0.05), (5, 0.1), (6, 0.3), (7, 0.6), (8, 0.8), (9, 0.9),
    (10, 1.0), (11, 1.0), (12, 1.3), (13, 1.3), (14, 1.0), (15, 0.9), (16, 0.9), (17, 1.0), (18, 1.2), (19, 1.4),
    (20, 1.9), (21, 2.1), (22, 1.6), (23, 0.8),
)
CLOSED_DAYS: frozenset[tuple[int, int]] = frozenset({(1, 1), (5, 1), (12, 25)})

# --- personas -------------------------------------------------------------------------------------------------
# share: of persons; rate: receipts a year; lines: mean lines per receipt; quantity: factor on quantities;
# channels: (store, web, app); promo: share of lines bought on promotion; tiers: (budget, standard, premium);
# churn: probability of leaving during the period; ages: (youngest, oldest) at the end of the period;
# female: share of women; weights: the category mix in CATEGORIES order.

PERSONAS: dict[str, dict[str, object]] = {
    "premium_food_lovers": {
        "share": 0.10, "rate": 7.0, "lines": 4.0, "quantity": 1.0, "channels": (0.68, 0.26, 0.06),
        "promo": 0.08, "tiers": (0.05, 0.45, 0.50), "churn": 0.08, "ages": (35, 82), "female": 0.55,
        "weights": (20, 12, 28, 18, 0.5, 1, 5, 3, 5, 3, 4, 1.5),
    },
    "bargain_hunters": {
        "share": 0.16, "rate": 7.5, "lines": 3.6, "quantity": 1.3, "channels": (0.74, 0.14, 0.12),
        "promo": 0.42, "tiers": (0.62, 0.33, 0.05), "churn": 0.15, "ages": (20, 80), "female": 0.58,
        "weights": (22, 35, 2, 4, 2, 4, 9, 4, 7, 6, 2, 3),
    },
    "young_families": {
        "share": 0.12, "rate": 8.5, "lines": 4.6, "quantity": 1.3, "channels": (0.55, 0.2, 0.25),
        "promo": 0.2, "tiers": (0.3, 0.55, 0.15), "churn": 0.08, "ages": (24, 45), "female": 0.64,
        "weights": (22, 22, 3, 3, 18, 12, 6, 2, 5, 6, 1, 2),
    },
    "seasonal_gift_buyers": {
        "share": 0.14, "rate": 2.2, "lines": 2.6, "quantity": 1.0, "channels": (0.5, 0.4, 0.1),
        "promo": 0.15, "tiers": (0.15, 0.5, 0.35), "churn": 0.15, "ages": (22, 80), "female": 0.55,
        "weights": (4, 4, 12, 10, 2, 18, 8, 5, 10, 6, 18, 10),
    },
    "weekly_loyal_shoppers": {
        "share": 0.06, "rate": 26.0, "lines": 4.4, "quantity": 1.2, "channels": (0.92, 0.04, 0.04),
        "promo": 0.18, "tiers": (0.3, 0.6, 0.1), "churn": 0.05, "ages": (38, 88), "female": 0.6,
        "weights": (40, 34, 4, 5, 1, 1, 4, 2, 5, 2, 0.5, 0.5),
    },
    "online_only": {
        "share": 0.12, "rate": 4.0, "lines": 3.0, "quantity": 1.0, "channels": (0.0, 0.6, 0.4),
        "promo": 0.22, "tiers": (0.25, 0.5, 0.25), "churn": 0.12, "ages": (19, 55), "female": 0.5,
        "weights": (3, 15, 6, 6, 6, 10, 15, 6, 10, 10, 5, 14),
    },
    "lapsing": {
        "share": 0.16, "rate": 6.0, "lines": 3.2, "quantity": 1.1, "channels": (0.76, 0.2, 0.04),
        "promo": 0.2, "tiers": (0.35, 0.5, 0.15), "churn": 0.62, "ages": (20, 85), "female": 0.55,
        "weights": (25, 30, 4, 6, 2, 4, 8, 5, 6, 5, 2, 3),
    },
    "newcomers": {
        "share": 0.14, "rate": 7.0, "lines": 3.4, "quantity": 1.1, "channels": (0.5, 0.25, 0.25),
        "promo": 0.22, "tiers": (0.3, 0.5, 0.2), "churn": 0.12, "ages": (19, 60), "female": 0.55,
        "weights": (20, 24, 6, 6, 4, 5, 10, 5, 8, 6, 3, 3),
    },
}

# --- interactions ---------------------------------------------------------------------------------------------

SEARCH_TERMS: dict[str, tuple[str, ...]] = {
    "fresh_food": ("fruits", "poulet", "fromage", "saumon", "légumes bio"),
    "grocery": ("café", "pâtes", "huile olive", "lessive", "chocolat"),
    "premium_food": ("foie gras", "caviar", "truffes", "épicerie fine", "chapon"),
    "wine": ("champagne", "vin rouge", "rosé", "whisky", "bordeaux"),
    "baby": ("couches", "lait bébé", "poussette", "siège auto", "lingettes"),
    "toys": ("jouet 5 ans", "puzzle", "lego", "jeu de société", "poupée"),
    "home": ("poêle", "linge de lit", "bougie", "vaisselle", "rideaux"),
    "garden": ("tondeuse", "barbecue", "salon de jardin", "terreau", "parasol"),
    "beauty": ("shampooing", "crème visage", "parfum", "crème solaire", "mascara"),
    "textile": ("jean", "pull", "cartable", "pyjama", "baskets"),
    "gifts": ("idée cadeau", "coffret", "carte cadeau", "sapin", "calendrier avent"),
    "electronics": ("écouteurs", "enceinte", "tablette", "montre connectée", "aspirateur"),
}
WEB_PAGES: tuple[str, ...] = ("/", "/promotions", "/nouveautes", "/magasins", "/compte", "/panier", "/aide")
CALL_REASONS: tuple[tuple[str, int], ...] = (
    ("delivery", 30), ("loyalty_points", 20), ("product_question", 18), ("complaint", 12), ("refund", 10),
    ("account_access", 10),
)
STORE_VISIT_REASONS: tuple[tuple[str, int], ...] = (
    ("click_and_collect", 45), ("customer_desk", 30), ("workshop", 10), ("tasting", 15),
)

# Newsletters and seasonal campaigns: (month, day, key, category or "").
SEASONAL_CAMPAIGNS: tuple[tuple[int, int, str, str], ...] = (
    (1, 8, "soldes-hiver", "textile"), (1, 20, "blanc", "home"), (2, 5, "saint-valentin", "gifts"),
    (3, 10, "jardin", "garden"), (3, 25, "paques", "premium_food"), (5, 15, "fete-des-meres", "gifts"),
    (6, 5, "fete-des-peres", "gifts"), (6, 24, "soldes-ete", "textile"), (8, 18, "rentree", "textile"),
    (9, 10, "foire-aux-vins", "wine"), (9, 22, "semaine-bebe", "baby"), (11, 20, "black-friday", "electronics"),
    (11, 25, "jouets-noel", "toys"), (12, 5, "noel-gourmand", "premium_food"), (12, 12, "cadeaux-noel", "gifts"),
)

# --- consents: purpose -> (base opt-in rate, channel in crm, channel in eshop, contact needed) ----------------

CONSENT_PURPOSES: tuple[tuple[str, float, str, str, str], ...] = (
    ("email_marketing", 0.55, "email", "email", "email"),
    ("sms_marketing", 0.25, "sms", "sms", "phone"),
    ("phone_marketing", 0.14, "phone", "phone", "phone"),
    ("postal_marketing", 0.3, "post", "post", "address"),
    ("sales_contact", 0.18, "phone", "email", "phone"),
    ("profiling", 0.6, "store", "web", ""),
    ("personalisation", 0.5, "email", "web", ""),
    ("analytics", 0.7, "", "web", ""),
)
POLICY_VERSIONS: tuple[tuple[str, tuple[int, int, int]], ...] = (
    ("2018-05", (2018, 5, 25)), ("2021-03", (2021, 3, 1)), ("2023-01", (2023, 1, 9)), ("2024-01", (2024, 1, 15)),
    ("2025-06", (2025, 6, 2)),
)
# fmt: on
