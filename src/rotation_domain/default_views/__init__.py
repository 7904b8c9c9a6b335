"""The standard read models, shipped as the library's default plugin.

Each view lives in a module of its own, with the public row classes its ``query``
returns: `participation`, `capacity`, `mentor_engagement`, `improvement_pipeline` and
`department_bridges`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rotation_domain.consumers import View
from rotation_domain.default_views.capacity import CapacityView
from rotation_domain.default_views.department_bridges import DepartmentBridgesView
from rotation_domain.default_views.improvement_pipeline import ImprovementPipelineView
from rotation_domain.default_views.mentor_engagement import MentorEngagementView
from rotation_domain.default_views.participation import ParticipationView
from rotation_domain.hookspecs import hookimpl

__all__ = ["rotation_views"]


@hookimpl
def rotation_views(settings: Mapping[str, str]) -> Sequence[View]:
    """Return one instance of each standard view.

    Args:
        settings: The program's plugin settings (the standard views take none).

    Returns:
        The participation, capacity, mentor engagement, improvement pipeline and
        department bridges views.
    """
    return (
        ParticipationView(),
        CapacityView(),
        MentorEngagementView(),
        ImprovementPipelineView(),
        DepartmentBridgesView(),
    )
