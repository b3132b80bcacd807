"""The simulated world, written down once: channels and campaigns, industries and sizes,
people and titles, activity items and today's points rules, drift and noise."""

from __future__ import annotations

import numpy as np

# source: (share, intent shift, conversion shift)
SOURCES = {
    "organic_search": (0.22, 0.3, 0.0),
    "paid_search": (0.18, 0.1, -0.1),
    "paid_social": (0.15, -0.3, -0.2),
    "content_syndication": (0.12, -0.6, -0.5),
    "webinar": (0.10, 0.2, 0.0),
    "event": (0.08, 0.1, 0.1),
    "referral": (0.06, 0.6, 0.5),
    "partner": (0.05, 0.3, 0.3),
    "outbound_list": (0.04, -0.8, -0.4),
}
CAMPAIGNS = {
    "organic_search": ("seo_blog", "seo_product"),
    "paid_search": ("brand_search", "generic_search"),
    "paid_social": ("linkedin_lead_gen", "linkedin_retargeting"),
    "content_syndication": ("ebook_syndication",),
    "webinar": ("monthly_webinar",),
    "event": ("trade_show", "roadshow"),
    "referral": ("customer_referral",),
    "partner": ("partner_co_sell",),
    "outbound_list": ("purchased_list",),
}
LATE_CAMPAIGN = "ai_assistant_launch"
LATE_CAMPAIGN_SOURCES = ("paid_search", "webinar")
LATE_CAMPAIGN_INTENT = 0.6

# industry: (share, fit base, size group, log-employee mean, revenue per employee in k USD)
INDUSTRIES = {
    "Software": (0.22, 0.4, "digital", 4.6, 220),
    "Fintech": (0.08, 0.6, "digital", 4.3, 260),
    "Financial Services": (0.12, 0.5, "regulated", 5.6, 300),
    "Healthcare": (0.10, 0.0, "regulated", 5.4, 140),
    "Manufacturing": (0.12, 0.1, "traditional", 5.5, 180),
    "Retail": (0.10, -0.2, "traditional", 5.2, 120),
    "Education": (0.08, -0.6, "traditional", 5.0, 90),
    "Government": (0.05, -0.8, "regulated", 6.0, 110),
    "Media": (0.06, -0.3, "traditional", 4.5, 160),
    "Other": (0.07, -0.4, "traditional", 4.4, 130),
}
FINANCE_INDUSTRIES = ("Fintech", "Financial Services", "Software")
SIZE_EDGES = np.array([50, 200, 1000, 5000])  # bands 1-49, 50-199, 200-999, 1000-4999, 5000+
SIZE_EFFECT = {
    "digital": np.array([0.2, 0.7, 0.9, 0.3, -0.3]),
    "regulated": np.array([-0.9, -0.2, 0.6, 0.9, 0.5]),
    "traditional": np.array([-0.8, -0.1, 0.5, 0.4, -0.2]),
}
# seniority: (share, weight in fit)
SENIORITY = {
    "c_level": (0.06, 1.0),
    "vp": (0.08, 0.9),
    "director": (0.14, 0.8),
    "manager": (0.25, 0.4),
    "individual": (0.40, 0.0),
    "student": (0.04, -2.0),
    "other": (0.03, -0.6),
}
FUNCTIONS = {  # function: (share, weight in fit)
    "finance": (0.15, 1.0),
    "it": (0.18, 0.8),
    "operations": (0.12, 0.5),
    "engineering": (0.20, 0.3),
    "sales": (0.12, 0.1),
    "marketing": (0.15, 0.1),
    "hr": (0.08, 0.0),
}
FUNCTION_NAMES = {
    "finance": "Finance",
    "it": "IT",
    "operations": "Operations",
    "engineering": "Engineering",
    "sales": "Sales",
    "marketing": "Marketing",
    "hr": "Human Resources",
}
C_TITLES = {
    "finance": "CFO",
    "it": "CIO",
    "operations": "COO",
    "engineering": "CTO",
    "sales": "CRO",
    "marketing": "CMO",
    "hr": "CHRO",
}
IC_TITLES = {
    "finance": "Financial Analyst",
    "it": "Systems Administrator",
    "operations": "Operations Analyst",
    "engineering": "Software Engineer",
    "sales": "Account Executive",
    "marketing": "Marketing Specialist",
    "hr": "HR Generalist",
}
OTHER_TITLES = ("Consultant", "Owner", "Freelancer")
COUNTRIES = {  # country: (share, region)
    "United States": (0.42, "North America"),
    "Canada": (0.06, "North America"),
    "United Kingdom": (0.10, "EMEA"),
    "Germany": (0.08, "EMEA"),
    "France": (0.05, "EMEA"),
    "Netherlands": (0.04, "EMEA"),
    "Sweden": (0.03, "EMEA"),
    "Australia": (0.06, "APAC"),
    "Singapore": (0.04, "APAC"),
    "India": (0.05, "APAC"),
    "Brazil": (0.04, "LATAM"),
    "Mexico": (0.03, "LATAM"),
}
FREE_MAIL = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com")
FIRST_NAMES = (
    "Alex",
    "Sam",
    "Maria",
    "John",
    "Priya",
    "Wei",
    "Fatima",
    "Lucas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Sofia",
    "Mateo",
    "Aisha",
    "Chen",
    "Hannah",
    "Omar",
    "Elena",
    "David",
    "Yuki",
    "Carlos",
    "Anna",
    "Ravi",
)
LAST_NAMES = (
    "Smith",
    "Garcia",
    "Müller",
    "Chen",
    "Patel",
    "Johnson",
    "Kim",
    "Silva",
    "Nguyen",
    "Rossi",
    "Dubois",
    "Kowalski",
    "Andersson",
    "Tanaka",
    "Brown",
    "Lopez",
    "Singh",
    "Williams",
    "Martin",
    "Khan",
)
NAME_WORDS = (
    "North",
    "Blue",
    "Apex",
    "Bright",
    "Quantum",
    "Harbor",
    "Summit",
    "Cedar",
    "Nova",
    "Atlas",
    "Pioneer",
    "Silver",
    "Vertex",
    "Granite",
    "Orbit",
    "Lumen",
    "Maple",
    "Falcon",
    "Crescent",
    "Evergreen",
    "Iron",
    "Coral",
    "Zenith",
    "Beacon",
)
NAME_SUFFIXES = (
    "Labs",
    "Systems",
    "Group",
    "Holdings",
    "Partners",
    "Technologies",
    "Bank",
    "Health",
    "Industries",
    "Retail",
    "Media",
    "Capital",
    "Solutions",
    "Works",
)

# activity items: (activity_type, page_category, form_type, base logit, intent slope)
ITEMS = (
    ("page_view", "pricing", None, -1.2, 0.8),
    ("page_view", "product", None, 0.3, 0.3),
    ("page_view", "docs", None, -0.8, 0.3),
    ("page_view", "blog", None, 0.8, -0.2),
    ("page_view", "careers", None, -1.6, -0.3),
    ("page_view", "case_study", None, -1.3, 0.5),
    ("page_view", "home", None, 0.4, 0.0),
    ("form_submit", None, "demo_request", -4.0, 1.0),
    ("form_submit", None, "contact_sales", -4.5, 0.9),
    ("form_submit", None, "newsletter", -2.5, 0.0),
    ("form_submit", None, "content_gate", -1.8, 0.0),
    ("content_download", None, None, -1.0, 0.2),
    ("webinar_registered", None, None, -1.8, 0.3),
    ("webinar_attended", None, None, -2.4, 0.5),
    ("email_open", None, None, 1.2, 0.0),
    ("email_click", None, None, -0.4, 0.4),
    ("event_attended", None, None, -3.0, 0.3),
    ("trial_signup", None, None, -3.8, 0.9),
    ("unsubscribe", None, None, -3.5, -0.8),
)
# Sales sequences after a lead became an SQL: e-mail opens and clicks, events (a leak in
# flat exports, which count them).
POST_SQL_ITEMS = (14, 14, 14, 15, 15, 16, 14)

# Today's points rules in the simulated CRM: they decide when a lead became an MQL.
WORLD_MQL_THRESHOLD = 85.0
WORLD_ITEM_POINTS = np.array(
    [10, 5, 3, 2, -5, 5, 1, 30, 30, 2, 10, 10, 5, 15, 1, 3, 15, 25, -15], dtype=float
)

BASE_LOGIT = -3.95
ACTIVITY_RATE = 8.0
PRE_VISIT_RATE = 5.0
INTENT_RATE_SLOPE = 0.8
FIT_NOISE = 0.1
FIT_WEIGHT = 1.3
INTENT_WEIGHT = 0.7
DEMO_SLOPE = 2.0
FADE_DAYS = 8.0
HORIZON_DAYS = 180.0
INTENT_BINS = np.linspace(-4.0, 4.0, 81)
DISQUALIFICATION_REASONS = (
    "No budget",
    "Unresponsive",
    "Wrong contact",
    "Not a fit",
    "Competitor",
    "Student",
    "Timing",
)

NS_PER_DAY = 86_400 * 10**9
