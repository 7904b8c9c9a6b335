from datetime import date

from rotation_domain import RotationProgram, SessionKind


def test_the_source_story_runs_end_to_end(company: RotationProgram) -> None:
    with company.acting_as("cio@example.com"):
        rotation = company.plan_rotation(
            "E1", host_department="FIN", start=date(2027, 1, 4), end=date(2027, 1, 29)
        )
        mentorship = company.nominate_mentor(rotation, mentor="M1")
    company.accept_mentorship(mentorship, actor="M1")
    company.brief_mentor(mentorship, on=date(2027, 1, 2), actor="cio@example.com")
    company.start_rotation(rotation, on=date(2027, 1, 4), actor="cio@example.com")
    for kind in SessionKind:
        company.hold_mentor_session(
            mentorship, kind=kind, on=date(2027, 1, 6), topic="close", actor="M1"
        )
    company.record_observation(rotation, "Invoices re-keyed", actor="E1")
    improvement = company.propose_improvement(rotation, title="Route invoices", actor="E1")
    company.adopt_improvement(improvement, on=date(2027, 2, 15), actor="M1")
    company.complete_rotation(rotation, on=date(2027, 1, 29), actor="cio@example.com")
    assert company.get(rotation).status == "completed"
