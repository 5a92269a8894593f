"""A small history in the handbook's raw layout, with its three fraud scenarios, for tests.

Customers pay terminals near them; (1) amounts over 220 are fraud, (2) compromised
terminals turn every payment fraud for a while, (3) compromised customers pay five times
their usual amount on some payments, which are fraud. Deterministic for a seed.
"""

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

ORIGIN = datetime(2018, 4, 1)


def handbook_like(
    days: int = 35, customers: int = 150, terminals: int = 50, seed: int = 3
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    mean_amount = rng.uniform(5, 100, customers)
    per_day = rng.uniform(0.5, 3, customers)
    home = rng.integers(0, terminals, customers)
    rows = []
    for day in range(days):
        for customer in range(customers):
            for _ in range(rng.poisson(per_day[customer])):
                terminal = int((home[customer] + rng.integers(-3, 4)) % terminals)
                amount = max(
                    float(rng.normal(mean_amount[customer], mean_amount[customer] / 2)), 0.5
                )
                seconds = day * 86_400 + int(rng.integers(0, 86_400))
                rows.append((customer, terminal, round(amount, 2), seconds))
    frame = pd.DataFrame(
        rows, columns=["CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_TIME_SECONDS"]
    )
    frame = frame.sort_values("TX_TIME_SECONDS", kind="stable").reset_index(drop=True)
    frame["TX_TIME_DAYS"] = frame["TX_TIME_SECONDS"] // 86_400
    fraud = (frame["TX_AMOUNT"] > 220).to_numpy().copy()
    for terminal, start in zip(
        rng.integers(0, terminals, days // 3), rng.integers(0, days, days // 3), strict=True
    ):
        fraud |= (
            (frame["TERMINAL_ID"] == terminal) & frame["TX_TIME_DAYS"].between(start, start + 9)
        ).to_numpy()
    for customer, start in zip(
        rng.integers(0, customers, days // 2), rng.integers(0, days, days // 2), strict=True
    ):
        victim = (frame["CUSTOMER_ID"] == customer) & frame["TX_TIME_DAYS"].between(
            start, start + 6
        )
        stolen = victim.to_numpy() & (rng.random(len(frame)) < 0.4)
        frame.loc[stolen, "TX_AMOUNT"] = (frame.loc[stolen, "TX_AMOUNT"] * 5).round(2)
        fraud |= stolen
    frame["TX_FRAUD"] = fraud.astype("int64")
    frame["TX_DATETIME"] = [ORIGIN + timedelta(seconds=int(s)) for s in frame["TX_TIME_SECONDS"]]
    frame["TRANSACTION_ID"] = np.arange(len(frame), dtype=np.int64)
    return frame
