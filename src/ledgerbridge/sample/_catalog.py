"""Fixed reference data of the sample firm: names, roles, rate cards, categories."""

from __future__ import annotations

#: Job roles with their share of the head count, most junior first.
ROLES: tuple[tuple[str, int], ...] = (
    ("Analyst", 25),
    ("Consultant", 30),
    ("Senior Consultant", 20),
    ("Manager", 13),
    ("Director", 8),
    ("Partner", 4),
)

#: Hourly rate in cents by currency and role; EUR and GBP cards are converted from USD,
#: so quarter hours often end on half a cent and rounding matters.
RATE_CARDS: dict[str, dict[str, int]] = {
    "USD": {
        "Analyst": 15000,
        "Consultant": 20000,
        "Senior Consultant": 25000,
        "Manager": 30000,
        "Director": 37500,
        "Partner": 45000,
    },
    "EUR": {
        "Analyst": 13970,
        "Consultant": 18626,
        "Senior Consultant": 23283,
        "Manager": 27939,
        "Director": 34924,
        "Partner": 41909,
    },
    "GBP": {
        "Analyst": 11837,
        "Consultant": 15782,
        "Senior Consultant": 19728,
        "Manager": 23673,
        "Director": 29591,
        "Partner": 35510,
    },
}

#: Client currencies with their weights.
CLIENT_CURRENCIES: tuple[tuple[str, int], ...] = (("USD", 80), ("EUR", 12), ("GBP", 8))

#: Currencies used for seeded mismatches (all valid ISO codes).
MISMATCH_CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "CAD")

#: Codes that look like currencies but are not ISO-4217.
UNKNOWN_CURRENCIES: tuple[str, ...] = ("XYZ", "QQQ", "ZZZ")

#: Billing types with their share of projects.
BILLING_TYPES: tuple[tuple[str, int], ...] = (
    ("time_and_materials", 50),
    ("fixed_fee", 30),
    ("retainer", 20),
)

#: Workspace statuses, as Kantata reports them.
STATUS_ESTIMATE = {"key": 100, "message": "Estimate", "color": "grey"}
STATUS_OKAY_TO_START = {"key": 130, "message": "Okay to Start", "color": "light_green"}
STATUS_ACTIVE = {"key": 140, "message": "Active", "color": "green"}

#: Expense categories with weight and amount range in cents.
EXPENSE_CATEGORIES: tuple[tuple[str, int, int, int], ...] = (
    ("Travel", 25, 15000, 120000),
    ("Lodging", 20, 12000, 45000),
    ("Meals", 35, 1500, 12000),
    ("Software", 8, 2000, 50000),
    ("Mileage", 12, 1000, 15000),
)

EXPENSE_NOTES: dict[str, tuple[str, ...]] = {
    "Travel": ("Flight to client site", "Train to client office", "Taxi from airport"),
    "Lodging": ("Hotel, two nights", "Hotel near client office", "Hotel, one night"),
    "Meals": ("Team lunch at workshop", "Dinner while travelling", "Working breakfast"),
    "Software": ("Diagramming tool licence", "Test data service", "Cloud sandbox usage"),
    "Mileage": ("Drive to client site", "Mileage to workshop venue", "Site visit mileage"),
}

TASK_TITLES: tuple[str, ...] = (
    "Discovery",
    "Requirements",
    "Solution design",
    "Build",
    "Data migration",
    "Integration",
    "Testing",
    "Training",
    "Go-live support",
    "Project management",
)

MILESTONE_TITLES: tuple[str, ...] = (
    "Discovery sign-off",
    "Design approved",
    "Build complete",
    "User acceptance",
    "Go-live",
    "Hypercare closed",
)

TIME_NOTES: tuple[str, ...] = (
    "Workshop with client team",
    "Configuration work",
    "Status meeting and follow-ups",
    "Documentation",
    "Analysis of current process",
    "Prepared test scripts",
    "Fixed review comments",
    "Stakeholder interviews",
)

CLIENT_FIRST: tuple[str, ...] = tuple(
    [
        "Northwind",
        "Bluepeak",
        "Harbor",
        "Ironwood",
        "Silverline",
        "Crescent",
        "Summit",
        "Redwood",
        "Lakeside",
        "Granite",
        "Evergreen",
        "Brightwater",
        "Oakridge",
        "Falcon",
        "Meridian",
        "Cobalt",
        "Juniper",
        "Sterling",
        "Pioneer",
        "Atlas",
        "Vantage",
        "Keystone",
        "Horizon",
        "Beacon",
    ]
)

CLIENT_SECOND: tuple[str, ...] = tuple(
    [
        "Logistics",
        "Health",
        "Foods",
        "Energy",
        "Retail",
        "Insurance",
        "Media",
        "Robotics",
        "Pharma",
        "Capital",
        "Manufacturing",
        "Telecom",
        "Software",
        "Hotels",
        "Airlines",
    ]
)

CLIENT_SUFFIX: tuple[str, ...] = ("Inc", "Group", "Ltd", "GmbH", "Holdings", "LLC", "plc", "SA")

FIRST_NAMES: tuple[str, ...] = tuple(
    [
        "Ada",
        "Ben",
        "Chloe",
        "Dev",
        "Elena",
        "Femi",
        "Grace",
        "Hiro",
        "Ines",
        "Jonas",
        "Kira",
        "Liam",
        "Maya",
        "Noah",
        "Olga",
        "Priya",
        "Quinn",
        "Rosa",
        "Sam",
        "Tariq",
        "Uma",
        "Victor",
        "Wen",
        "Ximena",
        "Yusuf",
        "Zoe",
        "Arjun",
        "Bianca",
        "Carlos",
        "Dana",
    ]
)

LAST_NAMES: tuple[str, ...] = tuple(
    [
        "Adams",
        "Bauer",
        "Chen",
        "Diaz",
        "Eriksen",
        "Fischer",
        "Garcia",
        "Haddad",
        "Ito",
        "Johnson",
        "Kowalski",
        "Lopez",
        "Moreau",
        "Nakamura",
        "Okafor",
        "Patel",
        "Rossi",
        "Schmidt",
        "Tanaka",
        "Usman",
        "Varga",
        "Walsh",
        "Xu",
        "Young",
        "Zimmermann",
    ]
)

#: Domain of the sample firm's e-mail addresses (reserved for examples).
FIRM_DOMAIN = "consulting.example"

PROJECT_TITLES: tuple[str, ...] = (
    "ERP rollout",
    "Finance transformation",
    "CRM implementation",
    "Data platform",
    "Managed services",
    "Process review",
    "Cloud migration",
    "Reporting refresh",
    "Support desk",
    "Integration programme",
)
