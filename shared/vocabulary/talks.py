"""The vocabulary of the negotiation itself: rounds, delegations, issues, stances, agreements."""

from __future__ import annotations

from shared.vocabulary.base import DescribedEnum


class RoundFormat(DescribedEnum):
    TRILATERAL = "trilateral", "Three parties at one table, one of them mediating."
    BILATERAL = "bilateral", "The two belligerents meet directly."
    PROXIMITY = "proximity", "Parties sit apart; mediators shuttle between them."
    WORKING_GROUP = "working_group", "Technical teams meet on one issue."


class RoundOutcome(DescribedEnum):
    AGREEMENT_SIGNED = "agreement_signed", "A written agreement was signed."
    JOINT_STATEMENT = "joint_statement", "The parties issued a joint statement; nothing signed."
    PARTIAL_PROGRESS = "partial_progress", "Progress on some issues, no agreement."
    NO_AGREEMENT = "no_agreement", "The round ended without agreement."
    SUSPENDED = "suspended", "The round was interrupted and may resume."
    WALKOUT = "walkout", "A party left the table."


class DelegationLevel(DescribedEnum):
    HEAD_OF_STATE = "head_of_state", "Led by a head of state or government."
    MINISTER = "minister", "Led by a minister."
    SECURITY_COUNCIL = "security_council", "Led by a national security or defence council official."
    MILITARY = "military", "Led by serving military officers."
    ENVOY = "envoy", "Led by a special envoy or representative."
    TECHNICAL = "technical", "Technical experts without a political mandate."


class Assessment(DescribedEnum):
    CONSTRUCTIVE = "constructive", "The party called the round productive or constructive."
    MIXED = "mixed", "Progress in some respects, obstacles in others."
    UNPRODUCTIVE = "unproductive", "The party said the round achieved nothing."


class Issue(DescribedEnum):
    """Contested issues; the PA-X category each maps to is in docs/vocabulary.md."""

    TERRITORY = "territory", "Control and status of territory, withdrawal lines, annexation."
    SECURITY_GUARANTEES = "security_guarantees", "Guarantees against renewed attack."
    CEASEFIRE = "ceasefire", "Cessation of hostilities, its scope and monitoring."
    FOREIGN_TROOPS = "foreign_troops", "Deployment of foreign forces on a party's soil."
    PRISONERS = "prisoners", "Exchange and release of prisoners of war and detainees."
    SANCTIONS = "sanctions", "Imposition, relief or lifting of sanctions."
    NATO_MEMBERSHIP = "nato_membership", "Membership of, or neutrality towards, NATO."
    ENERGY_INFRASTRUCTURE = "energy_infrastructure", "Attacks on and protection of energy sites."
    NUCLEAR_SAFETY = "nuclear_safety", "Safety and control of nuclear power plants."
    HUMANITARIAN = "humanitarian", "Humanitarian access, corridors, civilians, returns."
    ELECTIONS = "elections", "Holding, timing or recognition of elections."
    REPARATIONS = "reparations", "Compensation and reconstruction for war damage."


class Stance(DescribedEnum):
    DEMANDS = "demands", "Insists the other side concede this."
    PROPOSES = "proposes", "Puts this forward as its own proposal."
    SUPPORTS = "supports", "Backs a proposal made by another party."
    ACCEPTS = "accepts", "Agrees to it."
    ACCEPTS_CONDITIONALLY = "accepts_conditionally", "Agrees, subject to conditions."
    OPEN_TO_DISCUSS = "open_to_discuss", "Willing to negotiate it, without commitment."
    REJECTS = "rejects", "Refuses it."
    OPPOSES = "opposes", "Argues against it, short of outright refusal."
    RED_LINE = "red_line", "Declares it non-negotiable: must (or must never) happen."
    WITHDRAWS = "withdraws", "Withdraws its earlier position; no stance remains on record."


#: Stances that push for the proposition, and those that refuse it (used for the gap).
FOR_STANCES = frozenset(
    {Stance.DEMANDS, Stance.PROPOSES, Stance.SUPPORTS, Stance.ACCEPTS, Stance.RED_LINE}
)
AGAINST_STANCES = frozenset({Stance.REJECTS, Stance.OPPOSES})
HEDGED_STANCES = frozenset({Stance.ACCEPTS_CONDITIONALLY, Stance.OPEN_TO_DISCUSS})


class Conditionality(DescribedEnum):
    PRECONDITION = "precondition", "Must be met before talks or a deal can proceed."
    RED_LINE = "red_line", "A limit the party says it will not cross."
    OFFER = "offer", "Offered in exchange for something."
    COUNTER_OFFER = "counter_offer", "Offered in answer to another party's offer."


class Gap(DescribedEnum):
    ALIGNED = "aligned", "Every party with a position takes the same side."
    PARTIAL = "partial", "Some party hedges: accepts conditionally or is open to discuss."
    OPPOSED = "opposed", "One party pushes for the proposition and another refuses it."
    UNKNOWN = "unknown", "Fewer than two parties have a position on record."


class AgreementStage(DescribedEnum):
    """Stage of an agreement, after PA-X's classification."""

    PRE_NEGOTIATION = "pre_negotiation", "Sets up talks: who negotiates, how, about what."
    PARTIAL = "partial", "Settles some substantive issues."
    COMPREHENSIVE = "comprehensive", "Settles the substantive issues as a whole."
    IMPLEMENTATION = "implementation", "Implements or elaborates an earlier agreement."
    RENEWAL = "renewal", "Renews or extends an earlier agreement."
    CEASEFIRE = "ceasefire", "Provides for a ceasefire or cessation of hostilities."


class ThirdPartyRole(DescribedEnum):
    GUARANTOR = "guarantor", "Undertakes to guarantee the agreement."
    MEDIATOR = "mediator", "Mediated the agreement."
    WITNESS = "witness", "Signed as a witness."
    OBSERVER = "observer", "Attended without signing."
