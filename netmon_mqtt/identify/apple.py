"""Apple model identifiers ("iPhone14,2", "MacBookPro18,3", "AppleTV6,2", what Apple devices
put in mDNS TXT records) as people know them ("iPhone 13 Pro") (pure).

The names are those of Apple's own support pages ("Identify your iPhone model" and the like);
an identifier not listed yet is named by its family ("iPhone", "MacBook Pro").
"""

from __future__ import annotations

import re
from typing import Final

IDENTIFIER = re.compile(r"^([A-Za-z]+)(\d{1,3}),(\d{1,3})$")

NAMES: Final = {
    "iPhone10,1": "iPhone 8", "iPhone10,4": "iPhone 8",
    "iPhone10,2": "iPhone 8 Plus", "iPhone10,5": "iPhone 8 Plus",
    "iPhone10,3": "iPhone X", "iPhone10,6": "iPhone X",
    "iPhone11,2": "iPhone XS", "iPhone11,4": "iPhone XS Max", "iPhone11,6": "iPhone XS Max",
    "iPhone11,8": "iPhone XR",
    "iPhone12,1": "iPhone 11", "iPhone12,3": "iPhone 11 Pro", "iPhone12,5": "iPhone 11 Pro Max",
    "iPhone12,8": "iPhone SE (2nd generation)",
    "iPhone13,1": "iPhone 12 mini", "iPhone13,2": "iPhone 12", "iPhone13,3": "iPhone 12 Pro",
    "iPhone13,4": "iPhone 12 Pro Max",
    "iPhone14,4": "iPhone 13 mini", "iPhone14,5": "iPhone 13", "iPhone14,2": "iPhone 13 Pro",
    "iPhone14,3": "iPhone 13 Pro Max", "iPhone14,6": "iPhone SE (3rd generation)",
    "iPhone14,7": "iPhone 14", "iPhone14,8": "iPhone 14 Plus",
    "iPhone15,2": "iPhone 14 Pro", "iPhone15,3": "iPhone 14 Pro Max",
    "iPhone15,4": "iPhone 15", "iPhone15,5": "iPhone 15 Plus",
    "iPhone16,1": "iPhone 15 Pro", "iPhone16,2": "iPhone 15 Pro Max",
    "iPhone17,1": "iPhone 16 Pro", "iPhone17,2": "iPhone 16 Pro Max",
    "iPhone17,3": "iPhone 16", "iPhone17,4": "iPhone 16 Plus", "iPhone17,5": "iPhone 16e",
    "AppleTV5,3": "Apple TV HD", "AppleTV6,2": "Apple TV 4K",
    "AppleTV11,1": "Apple TV 4K (2nd generation)", "AppleTV14,1": "Apple TV 4K (3rd generation)",
    "AudioAccessory1,1": "HomePod", "AudioAccessory1,2": "HomePod",
    "AudioAccessory5,1": "HomePod mini", "AudioAccessory6,1": "HomePod (2nd generation)",
    "Macmini9,1": "Mac mini (M1, 2020)", "Mac14,3": "Mac mini (M2, 2023)",
    "Mac14,12": "Mac mini (M2 Pro, 2023)", "Mac16,10": "Mac mini (M4, 2024)",
    "MacBookAir10,1": "MacBook Air (M1, 2020)", "Mac14,2": "MacBook Air (M2, 2022)",
    "Mac14,15": "MacBook Air (15-inch, M2, 2023)",
    "MacBookPro17,1": "MacBook Pro (13-inch, M1, 2020)",
    "MacBookPro18,1": "MacBook Pro (16-inch, 2021)",
    "MacBookPro18,2": "MacBook Pro (16-inch, 2021)",
    "MacBookPro18,3": "MacBook Pro (14-inch, 2021)",
    "MacBookPro18,4": "MacBook Pro (14-inch, 2021)",
    "iMac21,1": "iMac (24-inch, M1, 2021)",
    "iMac21,2": "iMac (24-inch, M1, 2021)",
    "Mac13,1": "Mac Studio (M1 Max, 2022)", "Mac13,2": "Mac Studio (M1 Ultra, 2022)",
}  # fmt: skip
FAMILIES: Final = {
    "iPhone": "iPhone",
    "iPad": "iPad",
    "iPod": "iPod touch",
    "MacBookPro": "MacBook Pro",
    "MacBookAir": "MacBook Air",
    "MacBook": "MacBook",
    "Macmini": "Mac mini",
    "MacPro": "Mac Pro",
    "iMacPro": "iMac Pro",
    "iMac": "iMac",
    "Mac": "Mac",
    "AppleTV": "Apple TV",
    "AudioAccessory": "HomePod",
    "Watch": "Apple Watch",
}


def is_identifier(model: str) -> bool:
    """True for an Apple model identifier ("iPhone14,2")."""
    found = IDENTIFIER.match(model)
    return bool(found and found.group(1) in FAMILIES)


def name_of(model: str) -> str | None:
    """What people call the device an Apple model identifier names; None for anything else."""
    if not is_identifier(model):
        return None
    return NAMES.get(model) or FAMILIES[IDENTIFIER.match(model).group(1)]  # type: ignore[union-attr]
