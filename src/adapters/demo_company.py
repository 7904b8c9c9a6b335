"""The demo's company: IT teams, business departments with mentors, made from a seed.

`make_company` builds the same company for the same seed: about sixty IT staff in five
IT teams, and eight business departments whose staff mentor the rotations. It only
describes people; `adapters.demo_story` records them through the public API.
"""

from __future__ import annotations

import random

import attrs

__all__ = [
    "BUSINESS_DEPARTMENTS",
    "CIO",
    "IT_TEAMS",
    "PROGRAM_OFFICE",
    "Company",
    "Department",
    "Person",
    "make_company",
]

CIO = "cio@northwind.example"
"""The CIO, who sets the policy and opens the review cycle."""

PROGRAM_OFFICE = "rotation-office@northwind.example"
"""The CIO's office, which plans rotations, nominates and briefs mentors (R5)."""


@attrs.frozen
class Department:
    """A department of the company.

    Attributes:
        code: Its code in the directory.
        name: Its name.
        is_it: Whether it is an IT team (its staff rotate out).
        observations: Problems IT staff notice there (R7).
        improvements: Improvements IT staff propose there, as (title, description) (R8).
        topics: Mentor session topics there, by session kind (R6).
    """

    code: str
    name: str
    is_it: bool = False
    observations: tuple[str, ...] = ()
    improvements: tuple[tuple[str, str], ...] = ()
    topics: dict[str, tuple[str, ...]] = attrs.field(factory=dict)


@attrs.frozen
class Person:
    """Someone in the directory.

    Attributes:
        code: Their employee number.
        name: Their name.
        email: Their e-mail, also the actor of what they do.
        department: Their department's code.
        manager: Their manager's code (the head of the department), if any.
    """

    code: str
    name: str
    email: str
    department: str
    manager: str | None = None


@attrs.frozen
class Company:
    """The whole company, as the demo records it.

    Attributes:
        departments: The IT teams then the business departments.
        it_staff: Everyone in IT (the participants), by code.
        business_staff: Everyone in the business departments, by code.
        mentors: The people who may mentor, by department code (heads first).
    """

    departments: tuple[Department, ...]
    it_staff: tuple[Person, ...]
    business_staff: tuple[Person, ...]
    mentors: dict[str, tuple[Person, ...]]

    def department(self, code: str) -> Department:
        """The department with this code."""
        return next(d for d in self.departments if d.code == code)

    @property
    def hosts(self) -> tuple[Department, ...]:
        """The business departments (the possible hosts)."""
        return tuple(d for d in self.departments if not d.is_it)


IT_TEAMS: tuple[Department, ...] = (
    Department("ITINF", "IT Infrastructure & Cloud", is_it=True),
    Department("ITAPP", "IT Business Applications", is_it=True),
    Department("ITDAT", "IT Data & Analytics", is_it=True),
    Department("ITSEC", "IT Security", is_it=True),
    Department("ITSVC", "IT Service Desk", is_it=True),
)
"""The five IT teams."""


def _topics(discussion: str, reading: str, hands_on: str) -> dict[str, tuple[str, ...]]:
    return {
        "discussion": tuple(t.strip() for t in discussion.split(";")),
        "reading": tuple(t.strip() for t in reading.split(";")),
        "hands-on": tuple(t.strip() for t in hands_on.split(";")),
    }


BUSINESS_DEPARTMENTS: tuple[Department, ...] = (
    Department(
        "FIN",
        "Finance",
        observations=(
            "Supplier invoices are re-keyed by hand from e-mail attachments",
            "Month-end close waits two days for a spreadsheet from Sales",
            "Expense claims bounce back for missing cost centres",
            "Bank statements are reconciled line by line in Excel",
        ),
        improvements=(
            ("Route supplier invoices automatically", "Parse supplier e-mails into the ledger."),
            ("Cost-centre lookup in the expense form", "Fill the cost centre from the HR record."),
            ("Daily bank-statement matching", "Match statement lines to open items overnight."),
        ),
        topics=_topics(
            "How month-end close works; Why cash forecasting matters",
            "The accounts-payable handbook; The audit calendar",
            "Booking supplier invoices; Running the payment batch",
        ),
    ),
    Department(
        "HR",
        "People & Culture",
        observations=(
            "New starters wait a week for their laptop and accounts",
            "Leave requests are approved by e-mail and typed into payroll",
            "Interview feedback lives in personal notes",
        ),
        improvements=(
            ("One onboarding checklist that opens IT tickets", "Trigger accounts from the hire."),
            ("Leave approvals straight into payroll", "Replace the e-mail chain with a form."),
            ("Structured interview scorecards", "Capture feedback in the applicant system."),
        ),
        topics=_topics(
            "What a good first week looks like; How pay reviews run",
            "The people policy handbook; Works-council agreements",
            "Running an onboarding day; Preparing a payroll run",
        ),
    ),
    Department(
        "SAL",
        "Sales",
        observations=(
            "Quotes are copied from old quotes and prices go stale",
            "Account managers keep their pipeline in private spreadsheets",
            "Discount approvals stall when the director travels",
        ),
        improvements=(
            ("Quote templates fed by the price list", "Generate quotes from current prices."),
            ("Pipeline in the CRM, not in spreadsheets", "Import and retire the spreadsheets."),
            ("Mobile discount approvals", "Approve discounts from a phone with an audit trail."),
        ),
        topics=_topics(
            "How a deal moves from lead to contract; Why forecasts slip",
            "The sales playbook; Last year's lost-deal review",
            "Shadowing a customer call; Building a quote",
        ),
    ),
    Department(
        "MKT",
        "Marketing",
        observations=(
            "Campaign lists are exported and cleaned by hand each time",
            "Web leads reach Sales after three days",
            "Nobody knows which campaign brought a customer",
        ),
        improvements=(
            ("Self-service campaign audiences", "Build lists from the CRM with saved filters."),
            ("Same-hour lead routing", "Send web leads to the right account manager at once."),
            ("Campaign attribution report", "Tag every lead with its campaign and report it."),
        ),
        topics=_topics(
            "How a campaign is planned; What the brand stands for",
            "The brand book; Last quarter's campaign review",
            "Setting up an e-mail campaign; Reading the web analytics",
        ),
    ),
    Department(
        "OPS",
        "Operations",
        observations=(
            "Stock counts are written on paper and typed in at night",
            "Shift rotas are built in a shared spreadsheet that breaks",
            "Machine downtime is reported by phone",
        ),
        improvements=(
            ("Handheld stock counting", "Count with scanners that post to the ERP."),
            ("Shift planning tool", "Plan shifts with rules for skills and rest time."),
            ("Downtime reporting from the line", "A tablet form that opens maintenance tickets."),
        ),
        topics=_topics(
            "How a shift runs; Why on-time delivery slips",
            "The safety manual; The maintenance plan",
            "A morning on the warehouse floor; Running the stock count",
        ),
    ),
    Department(
        "LEG",
        "Legal",
        observations=(
            "Contracts are found by searching colleagues' mailboxes",
            "NDA requests arrive by e-mail in a dozen formats",
            "Renewal dates are tracked in one person's calendar",
        ),
        improvements=(
            ("Contract repository with search", "One place for signed contracts and metadata."),
            ("Self-service NDA generator", "Standard NDAs from a form, signed electronically."),
            ("Renewal reminders", "Warn owners ninety days before a contract renews."),
        ),
        topics=_topics(
            "How a contract is negotiated; What privacy law asks of IT",
            "The contract playbook; The data-protection register",
            "Reviewing an NDA; Answering a data-subject request",
        ),
    ),
    Department(
        "PRO",
        "Procurement",
        observations=(
            "Purchase requests need four signatures on paper",
            "Supplier certificates expire unnoticed",
            "Framework agreements are ignored because nobody finds them",
        ),
        improvements=(
            ("Electronic purchase approvals", "Route requests by amount and budget owner."),
            ("Supplier certificate tracker", "Remind suppliers before certificates expire."),
            ("Catalogue of framework agreements", "Show the agreed supplier when buying."),
        ),
        topics=_topics(
            "How a tender runs; Why maverick buying costs money",
            "The purchasing policy; Supplier risk reviews",
            "Raising a purchase order; Scoring a tender",
        ),
    ),
    Department(
        "CSV",
        "Customer Service",
        observations=(
            "Agents switch between four systems to answer one call",
            "The same ten questions make up half of the tickets",
            "Callbacks are promised on sticky notes",
        ),
        improvements=(
            ("One customer view for agents", "Show orders, invoices and tickets on one screen."),
            ("Answers for the top ten questions", "A help page and chatbot for common questions."),
            ("Callback scheduling", "Book callbacks into the queue with reminders."),
        ),
        topics=_topics(
            "How a complaint is handled; What customers ask most",
            "The service-level agreements; The complaint log",
            "Taking calls with an agent; Closing a week of tickets",
        ),
    ),
)
"""The eight business departments that host rotations."""

_FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Dennis",
    "Radia",
    "John",
    "Sophie",
    "Tim",
    "Karen",
    "Linus",
    "Hedy",
    "Niklaus",
    "Shafi",
    "Annie",
    "Guido",
    "Anita",
    "Brian",
    "Mary",
    "Bjarne",
    "Adele",
    "Leslie",
    "Jean",
    "Fran",
    "Vint",
    "Evelyn",
    "Butler",
    "Lynn",
    "Whitfield",
    "Carol",
    "Ivan",
    "Joan",
    "Robin",
    "Ellen",
    "Seymour",
    "Marissa",
    "Yukihiro",
    "Kathleen",
    "Rasmus",
    "Ruth",
    "Larry",
    "Susan",
    "Dan",
    "Jade",
    "Omar",
    "Priya",
    "Tomas",
    "Ines",
    "Kofi",
    "Mei",
    "Lars",
    "Aisha",
    "Pablo",
]
_LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Ritchie",
    "Perlman",
    "McCarthy",
    "Wilson",
    "Berners-Lee",
    "Jones",
    "Torvalds",
    "Lamarr",
    "Wirth",
    "Goldwasser",
    "Easley",
    "Rossum",
    "Borg",
    "Kernighan",
    "Keller",
    "Stroustrup",
    "Goldberg",
    "Lamport",
    "Sammet",
    "Bilas",
    "Cerf",
    "Berezin",
    "Lampson",
    "Conway",
    "Diffie",
    "Shaw",
    "Sutherland",
    "Clarke",
    "Milner",
    "Ullman",
    "Papert",
    "Mayer",
    "Matsumoto",
    "Booth",
    "Lerdorf",
    "Teitelbaum",
    "Page",
    "Kare",
    "Ingalls",
    "Okafor",
    "Haddad",
    "Raman",
    "Novak",
    "Duarte",
    "Mensah",
    "Zhang",
    "Lindqvist",
    "Rahman",
    "Ortega",
]


def _people(
    rng: random.Random, department: str, prefix: str, start: int, count: int, used: set[str]
) -> list[Person]:
    people = []
    for number in range(start, start + count):
        while True:
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            if f"{first} {last}" not in used:
                break
        used.add(f"{first} {last}")
        email = f"{first}.{last}".lower().replace("-", "") + "@northwind.example"
        people.append(Person(f"{prefix}{number}", f"{first} {last}", email, department))
    head = people[0]
    return [head, *(attrs.evolve(p, manager=head.code) for p in people[1:])]


def make_company(seed: int, *, it_staff: int = 60, mentors_per_department: int = 3) -> Company:
    """The demo company for a seed: the same seed gives the same company.

    Args:
        seed: The random seed.
        it_staff: How many IT staff, spread over the five IT teams.
        mentors_per_department: How many people of each business department may mentor
            (each department also has its head, who decides on improvements).
    """
    rng = random.Random(seed)
    used: set[str] = set()
    staff: list[Person] = []
    per_team, extra = divmod(it_staff, len(IT_TEAMS))
    number = 1001
    for index, team in enumerate(IT_TEAMS):
        count = per_team + (1 if index < extra else 0)
        staff += _people(rng, team.code, "E", number, count, used)
        number += count
    business: list[Person] = []
    mentors: dict[str, tuple[Person, ...]] = {}
    number = 2001
    for department in BUSINESS_DEPARTMENTS:
        people = _people(rng, department.code, "B", number, mentors_per_department + 1, used)
        number += len(people)
        business += people
        mentors[department.code] = tuple(people[1:])
    return Company(
        departments=IT_TEAMS + BUSINESS_DEPARTMENTS,
        it_staff=tuple(staff),
        business_staff=tuple(business),
        mentors=mentors,
    )
