"""How far apart two countries are at least, from what a payment carries (its merchant country).

Payments carry no coordinates and we ship no geo-IP database, so a country stands for a disc:
its approximate centroid and a radius that covers most of its land (large countries get a
large one). The least distance between two countries is the centroid distance minus both
radii, never below zero. It is a lower bound on purpose: impossible travel is claimed only
when even the nearest points of the two countries could not be covered in the time between
the payments, so a border crossing never looks impossible. A country not in this table
cannot be judged and is left out.
"""

import math

EARTH_RADIUS_KM = 6371.0
DEFAULT_RADIUS_KM = 300.0  # small and middle-sized countries; bigger ones say their own

# ISO 3166-1 alpha-2 -> (latitude, longitude, radius km). Centroids rounded to a tenth of a
# degree; radii err on the large side (a larger radius only makes the rule more careful).
COUNTRIES: dict[str, tuple[float, float, float]] = {
    "AE": (23.4, 53.8, 300), "AR": (-38.4, -63.6, 1400), "AT": (47.5, 14.6, 300),
    "AU": (-25.3, 133.8, 2200), "BE": (50.5, 4.5, 150), "BG": (42.7, 25.5, 250),
    "BR": (-14.2, -51.9, 2200), "CA": (56.1, -106.3, 2600), "CH": (46.8, 8.2, 200),
    "CL": (-35.7, -71.5, 2000), "CN": (35.9, 104.2, 2200), "CO": (4.6, -74.3, 700),
    "CY": (35.1, 33.4, 120), "CZ": (49.8, 15.5, 250), "DE": (51.2, 10.5, 450),
    "DK": (56.3, 9.5, 250), "EE": (58.6, 25.0, 200), "EG": (26.8, 30.8, 700),
    "ES": (40.5, -3.7, 600), "FI": (61.9, 25.7, 600), "FR": (46.2, 2.2, 600),
    "GB": (55.4, -3.4, 600), "GR": (39.1, 21.8, 400), "HK": (22.4, 114.1, 50),
    "HR": (45.1, 15.2, 300), "HU": (47.2, 19.5, 250), "ID": (-0.8, 113.9, 2500),
    "IE": (53.4, -8.2, 250), "IL": (31.0, 34.9, 250), "IN": (20.6, 79.0, 1600),
    "IS": (65.0, -19.0, 300), "IT": (41.9, 12.6, 700), "JP": (36.2, 138.3, 1200),
    "KE": (0.0, 37.9, 500), "KR": (35.9, 127.8, 300), "KZ": (48.0, 66.9, 1300),
    "LT": (55.2, 23.9, 200), "LU": (49.8, 6.1, 50), "LV": (56.9, 24.6, 200),
    "MA": (31.8, -7.1, 700), "MT": (35.9, 14.4, 30), "MX": (23.6, -102.6, 1500),
    "MY": (4.2, 102.0, 900), "NG": (9.1, 8.7, 600), "NL": (52.1, 5.3, 200),
    "NO": (60.5, 8.5, 900), "NZ": (-40.9, 174.9, 800), "PE": (-9.2, -75.0, 900),
    "PH": (12.9, 121.8, 900), "PK": (30.4, 69.3, 800), "PL": (51.9, 19.1, 350),
    "PT": (39.4, -8.2, 350), "QA": (25.4, 51.2, 100), "RO": (45.9, 25.0, 350),
    "RS": (44.0, 21.0, 250), "RU": (61.5, 105.3, 4000), "SA": (23.9, 45.1, 1100),
    "SE": (60.1, 18.6, 800), "SG": (1.4, 103.8, 30), "SI": (46.2, 15.0, 150),
    "SK": (48.7, 19.7, 200), "TH": (15.9, 101.0, 800), "TR": (39.0, 35.2, 800),
    "TW": (23.7, 121.0, 250), "UA": (48.4, 31.2, 700), "US": (37.1, -95.7, 2800),
    "VN": (14.1, 108.3, 900), "ZA": (-30.6, 22.9, 900),
}  # fmt: skip


def great_circle_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def least_distance_km(country_a: str, country_b: str) -> float | None:
    """The least distance between any two points of the two countries as this table sees
    them; None when either country is unknown here."""
    a, b = COUNTRIES.get(country_a.upper()), COUNTRIES.get(country_b.upper())
    if a is None or b is None:
        return None
    if country_a.upper() == country_b.upper():
        return 0.0
    return max(0.0, great_circle_km(a[:2], b[:2]) - a[2] - b[2])
