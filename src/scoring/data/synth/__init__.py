"""The synthetic CRM: leads, activities and each lead's true conversion probability.

The world it simulates is written down here, once:
- Companies have an industry, a size and a country; leads are people at those companies.
- ICP fit depends on industry x company size x seniority x function (interactions, not sums).
- A latent intent, shifted by channel and campaign, drives how much a lead engages and what it
  does; engagement fades after the lead is created.
- Today's points rules (WORLD_RULES) turn fit and activity into an MQL timestamp.
- Conversion to SQL depends on fit, intent and their interaction, the channel, drift over time
  and, for MQLs, how fast sales responded.
- The true probability (fit, intent, channel, time) is written to its own file for evaluation.
- Leaky fields are planted as real CRMs have them: activity after the SQL date and status
  fields filled in by sales.
"""

from scoring.data.synth.export import flat_export, write
from scoring.data.synth.generate import SyntheticCrm, generate
from scoring.data.synth.world import LATE_CAMPAIGN, SIZE_EFFECT

__all__ = ["LATE_CAMPAIGN", "SIZE_EFFECT", "SyntheticCrm", "flat_export", "generate", "write"]
