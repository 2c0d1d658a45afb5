"""The vocabulary of the fighting around the talks: strikes and ceasefires (after ACLED)."""

from __future__ import annotations

from shared.vocabulary.base import DescribedEnum


class TargetType(DescribedEnum):
    ENERGY_GENERATION = "energy_generation", "Power plants: thermal, hydro, nuclear, solar."
    ENERGY_TRANSMISSION = "energy_transmission", "Substations, transformers, power lines."
    DISTRICT_HEATING = "district_heating", "Combined heat and power plants, boiler houses."
    GAS_INFRASTRUCTURE = "gas_infrastructure", "Gas production, storage and pipelines."
    ENERGY_INFRASTRUCTURE = "energy_infrastructure", "Energy infrastructure, kind unspecified."
    RESIDENTIAL = "residential", "Homes and apartment blocks."
    HEALTHCARE = "healthcare", "Hospitals, clinics, ambulances."
    TRANSPORT = "transport", "Railways, roads, bridges, airports."
    PORT = "port", "Sea and river ports, grain terminals."
    GOVERNMENT = "government", "Government and administrative buildings."
    MILITARY = "military", "Military units, bases and equipment."
    DEFENCE_INDUSTRY = "defence_industry", "Arms production and repair."
    INDUSTRY = "industry", "Civilian industrial sites."
    COMMUNICATIONS = "communications", "Telecommunications, broadcasting, internet."
    WATER = "water", "Water supply and treatment."
    EDUCATION = "education", "Schools and universities."
    AGRICULTURE = "agriculture", "Farms, grain storage, agricultural land."
    CIVILIAN_OTHER = "civilian_other", "Other civilian objects."


class WeaponType(DescribedEnum):
    MISSILE = "missile", "Missiles, kind unspecified."
    DRONE = "drone", "Drones, kind unspecified."
    BALLISTIC_MISSILE = "ballistic_missile", "Ballistic missiles (e.g. Iskander-M, KN-23)."
    CRUISE_MISSILE = "cruise_missile", "Cruise missiles (e.g. Kh-101, Kalibr)."
    HYPERSONIC_MISSILE = "hypersonic_missile", "Hypersonic missiles (e.g. Kinzhal, Zircon)."
    ONE_WAY_ATTACK_DRONE = "one_way_attack_drone", "Loitering munitions (e.g. Shahed/Geran)."
    DECOY_DRONE = "decoy_drone", "Drones sent to exhaust air defences (e.g. Gerbera)."
    GUIDED_BOMB = "guided_bomb", "Glide and guided aerial bombs."
    ARTILLERY = "artillery", "Tube artillery and mortars."
    MLRS = "mlrs", "Multiple launch rocket systems."


class CeasefireScope(DescribedEnum):
    GENERAL = "general", "All hostilities."
    ENERGY_INFRASTRUCTURE = "energy_infrastructure", "No strikes on energy infrastructure."
    MARITIME = "maritime", "No hostilities at sea (e.g. Black Sea shipping)."
    AIR = "air", "No long-range air, missile and drone strikes."
    LOCAL = "local", "A named area or front sector."
    HUMANITARIAN_PAUSE = "humanitarian_pause", "A short pause for evacuation or aid."


class CeasefireEndReason(DescribedEnum):
    EXPIRED = "expired", "Its agreed term ran out."
    WITHDRAWN = "withdrawn", "A party withdrew from it."
    SUPERSEDED = "superseded", "Replaced by another ceasefire or agreement."
    COLLAPSED = "collapsed", "Broke down in renewed fighting."
