"""What a run fetches, builds and publishes: from the settings, the source contracts, the dbt
manifest's lineage and the published tables' descriptors.

`FLOWS_SOURCES=<ids>` restricts a run to those sources, the dbt models whose sources are all
among them, and the published tables those models allow.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from dagster_dbt import DbtProject

from ..ingest.contracts import Contract, ContractError, load_contracts, selected_source_ids
from ..ingest.groups import GROUPS_ID
from ..ingest.passage import target_cog_year
from ..ingest.raw import CENTROIDS_ID, PASSAGE_ID
from ..publish.release import TableDescriptor, load_descriptors
from ..settings import Settings
from ..warehouse.dbt_project import model_keys, model_sources, models_allowed, prepared_dbt_project, unusable_selection

SET_ASIDE_MODEL = "set_aside_summary"
PASSAGE_INPUTS = ("insee_cog_mouvements", "insee_populations_legales")
GROUP_CODE_REFERENCES = ("insee_cog_communes", "insee_cog_mouvements")  # to check the codes of FLOWS_GROUPS


@dataclass(frozen=True)
class RunPlan:
    settings: Settings
    contracts: dict[str, Contract]
    dbt: DbtProject
    descriptors: dict[str, TableDescriptor]

    @classmethod
    def from_settings(cls, settings: Settings) -> RunPlan:
        dbt = prepared_dbt_project()
        plan = cls(settings, load_contracts(), dbt, load_descriptors(model_keys(dbt.manifest_path)))
        plan.check_selection()
        return plan

    @cached_property
    def target_cog(self) -> int:
        years = [v.vintage for v in self.contracts["insee_cog_communes"].vintages]
        return target_cog_year(years, self.settings.target_cog)

    @cached_property
    def selected(self) -> list[str]:
        return selected_source_ids(list(self.contracts), self.settings.sources)

    @cached_property
    def derived(self) -> set[str]:
        """Raw tables built in Python from the selected sources: the passage needs its inputs; groups
        and centroids are always built (empty without FLOWS_GROUPS or boundaries)."""
        passage = {PASSAGE_ID} if all(s in self.selected for s in PASSAGE_INPUTS) else set()
        return passage | {GROUPS_ID, CENTROIDS_ID}

    @cached_property
    def allowed_models(self) -> set[str]:
        return models_allowed(self.dbt.manifest_path, set(self.selected) | self.derived)

    @cached_property
    def published(self) -> list[str]:
        return sorted(t for t, d in self.descriptors.items() if d.model in self.allowed_models)

    @property
    def counts_set_aside(self) -> bool:
        return SET_ASIDE_MODEL in self.allowed_models

    def model_sources(self, model: str) -> set[str]:
        return model_sources(self.dbt.manifest_path, model)

    def sources_needed(self, model: str) -> set[str]:
        """The source ids (contracts) a model is built from, the passage's inputs standing for it."""
        needs = self.model_sources(model) - {GROUPS_ID, CENTROIDS_ID}
        if PASSAGE_ID in needs:
            needs = (needs - {PASSAGE_ID}) | set(PASSAGE_INPUTS)
        return needs

    def check_selection(self) -> None:
        """A FLOWS_SOURCES selection that cannot publish what it feeds is refused before any work."""
        if set(self.selected) == set(self.contracts):
            return
        problem = unusable_selection(set(self.selected),
                                     {t: self.sources_needed(d.model) for t, d in self.descriptors.items()})
        if problem:
            raise ContractError(problem)
