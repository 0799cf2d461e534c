"""The library of actions a scene description can ask for.

Each action names what it looks like in words twice: ``keywords`` (regular
expressions, precise and cheap) and ``phrases`` (example wordings whose
MiniLM embeddings catch paraphrases no keyword list foresees: "bobs her
head in agreement" -> nod, "grins" -> smile). ``kind`` decides timing:
- "gesture": a movement that happens and is over (nod, shake, wink, sigh);
- "hold": a state held through its step of the description (smile, look left);
- "attribute": a state held through the whole segment (eyes half-closed).
How each action moves the face is in core.scene.cues.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Action:
    name: str
    kind: str  # "gesture" | "hold" | "attribute"
    keywords: tuple[str, ...]
    phrases: tuple[str, ...]
    directional: bool = False
    description: str = ""


_HEAD = r"(?:(?:her|his|their|the|its|one's)\s+)?head"

ACTIONS: tuple[Action, ...] = (
    Action("nod", "gesture", (r"\bnod", r"\bbob\w*\s+" + _HEAD),
           ("nods", "nods her head", "nodding in agreement", "bobs head up and down", "gives a small nod",
            "agrees with a nod"), description="head dips down and up"),
    Action("shake", "gesture", (r"\bshak\w*\s+" + _HEAD, r"\bhead\s*shake", r"\bshakes?\b(?!.*hand)"),
           ("shakes her head", "shakes head no", "a head shake of disagreement", "shaking head side to side"),
           description="head turns left and right"),
    Action("tilt", "hold", (r"\btilt", r"\bcock\w*\s+" + _HEAD),
           ("tilts her head", "tilts head to the side", "cocks head", "head tilted"), True,
           "head rolls to one side"),
    Action("turn", "hold", (r"\bturn\w*\b(?!.*\b(?:red|pale)\b)", r"\brotat\w*\s+" + _HEAD),
           ("turns her head", "turns to the side", "turns head away", "faces to the left"), True,
           "head turns to one side"),
    Action("look", "hold", (r"\blook(?:s|ing|ed)?\b(?!\s+(?:happy|sad|tired|worried|surprised|serious|calm))",
                            r"\bglanc", r"\bgaz", r"\bpeer", r"\bstar(?:e|es|ing)\b", r"\beyes\s+(?:dart|drift|wander)"),
           ("looks to the left", "glances sideways", "looks up", "looks down", "looks away",
            "eyes drift to the side", "gazes into the distance"), True, "eyes (and a little of the head) move"),
    Action("lower_head", "hold", (r"\b(?:bow|lower|drop|hang)\w*\s+" + _HEAD, r"\bchin\s+(?:down|drops|lowered|tucked)"),
           ("bows her head", "lowers her head", "chin down", "head hangs"), description="chin drops"),
    Action("raise_chin", "hold", (r"\b(?:raise|lift)\w*\s+(?:her|his|their|the)?\s*chin", r"\bchin\s+(?:up|raised|lifted)",
                                  r"\blift\w*\s+" + _HEAD),
           ("raises her chin", "chin up", "lifts her head", "proud posture"), description="chin lifts"),
    Action("raise_brows", "hold", (r"\b(?:raise|lift|arch)\w*\s+(?:\w+\s+)?(?:eye)?brows?", r"\b(?:eye)?brows?\s+(?:go\s+)?(?:up|rise|raised|lift)",
                                   r"\braised\s+(?:eye)?brows"),
           ("raises her eyebrows", "eyebrows go up", "lifts her brows", "arches an eyebrow"),
           description="brows lift"),
    Action("knit_brows", "hold", (r"\b(?:knit|furrow|draw|pull)\w*\s+(?:\w+\s+)?(?:eye)?brows?", r"\bfurrow", r"\bscowl",
                                  r"\bbrows?\s+(?:knit|furrow|drawn|lower)"),
           ("knits her brows", "furrows her brow", "brows drawn together", "scowls"), description="brows lower and pull together"),
    Action("smile", "hold", (r"\bsmil", r"\bgrin", r"\bbeam(?:s|ing)?\b"),
           ("smiles", "smiles warmly", "grins", "a big smile", "beams with joy", "a friendly smile"),
           description="mouth corners rise, cheeks lift"),
    Action("frown", "hold", (r"\bfrown", r"\bpout", r"\bgrimac"),
           ("frowns", "frowning unhappily", "a displeased frown", "pouts"), description="brows lower, mouth corners drop"),
    Action("laugh", "gesture", (r"\blaugh", r"\bchuckl", r"\bgiggl"),
           ("laughs", "chuckles", "laughing heartily", "bursts out laughing", "giggles"),
           description="broad smile, mouth opens in pulses, head bobs up"),
    Action("wink", "gesture", (r"\bwink",), ("winks", "gives a wink", "winks one eye"), description="one eye closes briefly",
           directional=True),
    Action("close_eyes", "hold", (r"\b(?:close|shut)\w*\s+(?:\w+\s+)?eyes", r"\beyes\s+(?:are\s+)?(?:closed|shut|close)\b"),
           ("closes her eyes", "eyes closed", "shuts her eyes"), description="eyelids close"),
    Action("blink", "gesture", (r"\bblink",), ("blinks", "blinks rapidly", "blinking"), description="quick blinks"),
    Action("eyes_wide", "hold", (r"\beyes?\s+(?:go\s+)?wide", r"\bwide[- ]eyed", r"\bwiden", r"\bwide\s+eyes"),
           ("eyes wide open", "wide-eyed", "eyes widen"), description="upper lids lift"),
    Action("squint", "hold", (r"\bsquint", r"\bnarrow\w*\s+(?:her|his|their|the)?\s*eyes"),
           ("squints", "narrows her eyes", "eyes narrowed"), description="lids tighten"),
    Action("sigh", "gesture", (r"\bsigh", r"\bexhal"), ("sighs", "lets out a sigh", "exhales deeply"),
           description="head sinks, lips part, lids droop, then recover"),
    Action("lean_in", "hold", (r"\blean\w*\s+(?:in|forward|closer|toward)", r"\bmoves?\s+closer"),
           ("leans in", "leans forward", "moves closer to the camera"), description="head comes closer (larger)"),
    Action("lean_back", "hold", (r"\blean\w*\s+back", r"\b(?:pulls|draws|sits)\s+back"),
           ("leans back", "pulls back", "sits back"), description="head moves away (smaller), chin up"),
    Action("purse_lips", "hold", (r"\bpurs", r"\bpress\w*\s+(?:\w+\s+)?lips", r"\blips\s+(?:pressed|tight)"),
           ("purses her lips", "presses lips together", "lips pressed tight"), description="lips press together"),
    Action("eyes_half_closed", "attribute", (r"\beyes?\s+half[- ](?:closed|shut|open)", r"\bheavy[- ]lidded", r"\bhalf[- ]closed\s+eyes",
                                             r"\bdroopy\s+eyes", r"\bsleepy"),
           ("eyes half-closed", "heavy-lidded eyes", "sleepy eyes", "drowsy look"), description="lids half down"),
    Action("mouth_open", "attribute", (r"\bmouth\s+(?:\w+\s+)?(?:open|ajar|agape)", r"\blips\s+(?:\w+\s+)?parted", r"\bagape",
                                       r"\bopen\w*\s+(?:her|his|their|the)?\s*mouth"),
           ("mouth slightly open", "lips parted", "mouth agape", "jaw drops"), description="jaw stays a little open"),
    Action("thoughtful", "hold", (r"\bthought", r"\bpensive", r"\bponder", r"\bcontemplat", r"\bmusing", r"\bwonder"),
           ("thoughtful", "pensive", "lost in thought", "considering carefully"),
           description="eyes drift up and aside, brows draw in a little, lips press"),
    Action("surprised", "hold", (r"\bsurpris", r"\bastonish", r"\bamaz", r"\bshock", r"\bstartl"),
           ("surprised", "astonished", "looks amazed", "startled"), description="brows up, eyes wide, jaw drops a little"),
    Action("sad", "hold", (r"\bsad", r"\bsorrow", r"\bdowncast", r"\bmelanchol", r"\bgloom", r"\bdejected"),
           ("sad", "sorrowful", "downcast", "looks sad"), description="inner brows up, mouth corners down, head lowers"),
    Action("serious", "hold", (r"\bserious", r"\bstern", r"\bsolemn", r"\bgrave\b", r"\bdetermined"),
           ("serious", "stern expression", "solemn"), description="brows lower a little, lips press"),
    Action("cheerful", "hold", (r"\bcheer", r"\bhappy", r"\bjoyful", r"\bdelight", r"\bglad\b", r"\bbright\w*\s+up"),
           ("cheerful", "happy", "delighted", "joyful", "her face lights up"), description="smile with raised cheeks"),
    Action("calm", "hold", (r"\bcalm", r"\bstill\b", r"\brelax", r"\bmotionless", r"\bsteady"),
           ("calm", "keeps still", "relaxed and steady"), description="head movement settles"),
)

# Things people write that a face cannot show (hands, body, props). They
# compete in the embedding match so "waves her hand" is reported as
# unmapped instead of landing on the nearest facial action.
NOT_FACIAL: tuple[str, ...] = (
    "waves her hand", "points at something", "shrugs her shoulders", "claps her hands",
    "gives a thumbs up", "walks away", "dances", "juggles balls", "drinks from a cup",
    "scratches her nose", "crosses her arms", "picks up a phone", "types on a keyboard",
    "stands up", "sits down", "holds up a sign", "runs", "jumps", "writes a note",
)

BY_NAME: dict[str, Action] = {a.name: a for a in ACTIONS}

# Words that change how strongly (or how fast) an action is done.
INTENSITY: dict[str, float] = {
    "barely": 0.25, "faintly": 0.3, "faint": 0.3, "hint": 0.3, "slightly": 0.4, "slight": 0.4,
    "subtly": 0.4, "subtle": 0.4, "a little": 0.4, "a bit": 0.4, "lightly": 0.45, "softly": 0.5,
    "gently": 0.5, "gentle": 0.5, "small": 0.45, "somewhat": 0.5,
    "warmly": 0.8, "clearly": 0.85, "firmly": 0.9, "big": 1.0, "broadly": 1.0, "broad": 1.0,
    "widely": 1.0, "wide": 1.0, "strongly": 1.0, "deeply": 1.0, "deep": 1.0, "very": 1.0,
    "vigorously": 1.0, "emphatically": 1.0, "heartily": 1.0, "hard": 1.0, "fully": 1.0,
    "really": 0.95, "energetically": 1.0,
}
DEFAULT_INTENSITY = 0.7
TEMPO: dict[str, float] = {"slowly": 1.6, "slow": 1.6, "quickly": 0.7, "quick": 0.7, "rapidly": 0.6,
                           "briefly": 0.7, "fast": 0.7}
# Words that carry no visible action on their own; a clause made only of
# these (plus adverbs) is not reported as unmapped.
FILLER = {
    "she", "he", "they", "her", "his", "their", "the", "a", "an", "speaker", "narrator", "person",
    "while", "speaking", "talking", "speaks", "talks", "continues", "explaining", "explains",
    "to", "at", "camera", "viewer", "audience", "and", "with", "then", "face", "expression",
    "of", "in", "on", "for", "as", "it", "is", "again", "still", "once", "twice", "moment",
    "warm", "warmly", "softly", "slowly", "gently", "quickly", "briefly", "calmly", "openly",
}
