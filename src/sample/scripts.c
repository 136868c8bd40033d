/* scripts.c - sample tenants: volume profiles and dialogue scripts */
#include "sample/scripts.h"

#include <stdint.h>
#include <stdio.h>

/*
 * The dialogue scripts below are written so that the offline rules
 * evaluator, the sentiment lexicon and the redactor find what they look
 * for: confirmed and failed bookings, caller authentication, call reasons,
 * positive / neutral / negative customers (with negations), agent empathy,
 * handoff language before every handoff, and personal data (phone numbers,
 * e-mail addresses, card numbers) in a minority of conversations.
 */

#define AGENT(c, pool) cs_sample_agent((c), CS_POOL(pool))
#define CUSTOMER(c, pool) cs_sample_customer((c), CS_POOL(pool))
#define CHANCE(c, p) cs_rng_chance(&(c)->rng, (p))

/* Call reasons, as agents log them in the `call_reason` metric. */
#define R_BOOKING "booking"
#define R_BILLING "billing"
#define R_TECH "technical_issue"
#define R_CANCEL "cancellation"
#define R_INSURANCE "insurance"
#define R_RESCHEDULE "reschedule"
#define R_INFO "information"
#define R_OTHER "other"

static void agent1(struct cs_sample_conv *c, const char *tmpl)
{
    cs_sample_agent(c, &tmpl, 1);
}

static void customer1(struct cs_sample_conv *c, const char *tmpl)
{
    cs_sample_customer(c, &tmpl, 1);
}

#define NELEM(pool) (sizeof(pool) / sizeof((pool)[0]))
#define PICK_INDEX(c, pool) cs_rng_below(&(c)->rng, NELEM(pool))

static void reason(struct cs_sample_conv *c, const char *r)
{
    if (c->logs_metrics)
        cs_sample_metric_str(c, "call_reason", r);
}

static int pick_mood(struct cs_sample_conv *c, int pos, int neu, int neg)
{
    const int w[3] = {pos, neu, neg};

    return (int)cs_rng_weighted(&c->rng, w, 3);
}

/* ---- shared pieces ------------------------------------------------------ */

static const char *const complaints[] = {
    "This is ridiculous, I've been trying to sort this out for a week.",
    "I'm frustrated, honestly. Nobody ever gets back to me.",
    "That's not helpful at all.",
    "I'm not happy with this at all.",
    "I've already explained this twice. This is so annoying.",
    "Seriously? This is the worst service I've had in years.",
    "I'm really disappointed. I expected better from you.",
};

static const char *const empathy[] = {
    "I'm sorry to hear that, and I understand how frustrating this must be.",
    "I understand how frustrating that is. Let's get it sorted out.",
    "I'm really sorry about the trouble. I'll do my best to fix this now.",
    "I apologize for the inconvenience, {name}. I understand how "
    "frustrating this has been.",
    "I'm sorry to hear that. Thank you for your patience.",
};

static const char *const close_positive[] = {
    "No, that's it. Thanks, that's great!",
    "Nope, that's everything. Thank you so much, you've been really helpful.",
    "That's all, thanks! Perfect.",
    "No, I'm all set. Awesome, thanks for your help.",
    "Not at all, that was easy. Thanks!",
    "No, that's perfect. I really appreciate it.",
    "No problem at all, that's everything. Great service, thank you!",
};

static const char *const close_neutral[] = {
    "No, that's it.",
    "No. Okay, bye.",
    "That's all for now.",
    "No, thanks.",
    "I think that's everything.",
    "Not bad, thanks. That's all.",
    "Okay. Nothing else.",
};

static const char *const close_negative[] = {
    "No. Honestly, this was not helpful.",
    "No. I'm not happy with how this went.",
    "That's it. This has been really frustrating.",
    "No, I'm done. This is ridiculous.",
    "Whatever, no.",
    "No. I'm still not satisfied, but fine.",
    "No. This took way too long and I'm annoyed.",
};

static const char *const anything_else[] = {
    "Is there anything else I can help you with?",
    "Is there anything else I can do for you today?",
    "Can I help with anything else?",
};

static const char *const ask_human[] = {
    "Can I just talk to a real person?",
    "I want to speak to a human, please.",
    "Can you put me through to someone? I don't want to talk to a bot.",
    "Is there a person I can talk to?",
};

static const char *const to_human[] = {
    "Of course. Let me transfer you to a colleague who can help.",
    "Sure, let me transfer you to a colleague right away.",
    "No problem, I'll connect you with a colleague now. Please hold.",
};

static const char *const to_human_chat[] = {
    "Of course. Let me connect you with a colleague from our team.",
    "Sure, I'm handing this over to a colleague now. They'll reply here.",
};

static const char *const ok_acks[] = {
    "Okay.", "Sure.", "Alright.", "Okay, thanks.", "Sounds good.",
    "Great, thanks!", "Perfect.",
};

static const char *const yes_please[] = {
    "Yes please.", "That works.", "Yes, go ahead.", "Perfect, yes.",
};

/* The customer takes the alternative slot ({day2} at {time2}): it becomes
 * {day} at {time}, and a fresh alternative is drawn when one is needed. */
static void take_alternative(struct cs_sample_conv *c)
{
    cs_sample_set(c, CS_SLOT_DAY, cs_sample_get(c, CS_SLOT_DAY2));
    cs_sample_set(c, CS_SLOT_TIME, cs_sample_get(c, CS_SLOT_TIME2));
    cs_sample_set(c, CS_SLOT_DAY2, NULL);
    cs_sample_set(c, CS_SLOT_TIME2, NULL);
}

/* Up to `max` follow-up questions, q[k] answered by a[k]. */
static void side_questions(struct cs_sample_conv *c, const char *const *q,
                           const char *const *a, size_t n, uint32_t max)
{
    uint32_t count = cs_rng_below(&c->rng, max + 1);
    uint32_t k = cs_rng_below(&c->rng, (uint32_t)n);
    uint32_t i;

    if (c->handoff)
        return;
    for (i = 0; i < count && i < n; i++) {
        customer1(c, q[(k + i) % n]);
        agent1(c, a[(k + i) % n]);
    }
}

/* The customer complains and the agent answers with empathy. */
static void complain(struct cs_sample_conv *c)
{
    CUSTOMER(c, complaints);
    AGENT(c, empathy);
}

static void transfer_line(struct cs_sample_conv *c)
{
    if (c->channel == CS_SAMPLE_VOICE)
        AGENT(c, to_human);
    else
        AGENT(c, to_human_chat);
}

/* A customer who insists on a person; returns 1 when handed off. */
static int maybe_ask_human(struct cs_sample_conv *c, double p,
                           const char *target)
{
    if (!CHANCE(c, c->mood == CS_MOOD_NEGATIVE ? p * 3 : p))
        return 0;
    CUSTOMER(c, ask_human);
    transfer_line(c);
    cs_sample_handoff(c, CHANCE(c, 0.4) ? "warm" : "cold", target,
                      "customer_request");
    return 1;
}

/* After a failed task the customer is often unhappy; after a fix, less so. */
static void settle_mood(struct cs_sample_conv *c)
{
    if (c->task_ok == 0 && c->mood != CS_MOOD_NEGATIVE && CHANCE(c, 0.5))
        c->mood = CS_MOOD_NEGATIVE;
    else if (c->task_ok == 1 && c->mood == CS_MOOD_NEGATIVE && CHANCE(c, 0.3))
        c->mood = CS_MOOD_NEUTRAL;
}

/* The end of a contained conversation: anything else, goodbye. */
static void wrap_up(struct cs_sample_conv *c, const char *const *bye_ok,
                    size_t n_ok, const char *const *bye_sorry, size_t n_sorry)
{
    if (c->handoff)
        return;
    settle_mood(c);
    AGENT(c, anything_else);
    if (c->mood == CS_MOOD_POSITIVE)
        CUSTOMER(c, close_positive);
    else if (c->mood == CS_MOOD_NEUTRAL)
        CUSTOMER(c, close_neutral);
    else
        CUSTOMER(c, close_negative);
    if (c->mood == CS_MOOD_NEGATIVE)
        cs_sample_agent(c, bye_sorry, n_sorry);
    else
        cs_sample_agent(c, bye_ok, n_ok);
}

/* ---- acme-dental -------------------------------------------------------- */

enum {
    ACME_BOOK, ACME_RESCHEDULE, ACME_CANCEL, ACME_INSURANCE, ACME_BILLING,
    ACME_URGENT, ACME_GENERAL, ACME_REMINDER, ACME_SPANISH
};

static const char *const acme_services[] = {
    "cleaning", "check-up", "filling", "crown consultation",
    "teeth whitening", "root canal consultation", "X-ray", "cleaning",
};

static const char *const acme_dentists[] = {
    "Dr. Patel", "Dr. Okafor", "Dr. Lindqvist", "Dr. Reyes", "Dr. Chen",
};

static const char *const acme_insurers[] = {
    "Delta Dental", "Cigna", "Aetna", "MetLife", "Guardian", "UnitedHealthcare",
};

static const char *const acme_greet_v3[] = {
    "Thanks for calling Acme Dental, this is {bot}, the virtual receptionist. "
    "How can I help you today?",
    "Good day, you've reached Acme Dental. I'm {bot}, a virtual assistant. "
    "How can I help?",
};

static const char *const acme_greet_v4[] = {
    "Hi, you've reached Acme Dental. I'm {bot}, the virtual receptionist. I "
    "can book, move or cancel appointments and answer insurance questions. "
    "What can I do for you?",
    "Thank you for calling Acme Dental! This is {bot}. How can I help you "
    "today?",
};

static const char *const acme_bye[] = {
    "You're welcome, {name}. Have a great day!",
    "Thanks for calling Acme Dental. Take care!",
    "Glad I could help. See you soon, {name}!",
};

static const char *const acme_bye_sorry[] = {
    "I'm sorry we couldn't do more today, {name}. Thank you for your "
    "patience.",
    "I understand. I'm sorry for the trouble, and thank you for calling Acme "
    "Dental.",
};

static const char *const acme_ask_id[] = {
    "Sure, I can help with that. Can I have your full name and date of "
    "birth?",
    "Of course. Are you an existing patient? If so, what's your name and "
    "date of birth?",
    "Happy to help. Could I get the patient's full name and date of birth, "
    "please?",
};

static const char *const acme_give_id[] = {
    "It's {full}, {dob}.",
    "{full}. My date of birth is {dob}.",
    "Yes, I'm a patient there. {full}, born {dob}.",
    "Sure. {full}, and my birthday is {dob}.",
};

static const char *const acme_found[] = {
    "Thanks, {name}, I've verified your details and found your record.",
    "Thank you, you're verified. I have your file here.",
    "Got it, thanks {name}. I found your record.",
};

static const char *const acme_new_patient[] = {
    "I don't see a record under that name, so I'll set you up as a new "
    "patient. What's the best phone number and email for you?",
    "It looks like you're new to us, welcome! What phone number and email "
    "should we use for reminders?",
};

static const char *const acme_contact_pii[] = {
    "Sure, it's {phone}, and my email is {email}.",
    "My cell is {phone}. Email is {email}.",
    "You can reach me at {phone} or {email}.",
};

static const char *const acme_contact_plain[] = {
    "You can use the number I'm calling from.",
    "Just use this number, I don't really check email.",
    "The number I'm calling from is fine, and you can text me there.",
};

static const char *const acme_book_ask[] = {
    "Hi, I'd like to book a {svc} for next {day}.",
    "Hello, I need to make an appointment for a {svc}, whenever is soonest.",
    "Hi, I'm calling to schedule a {svc} for my son.",
    "Yeah, hi, can I book a {svc}? It's been a while since my last one.",
    "I'd like to book an appointment with {who} if possible.",
    "Hi there, do you have any openings for a {svc} this week?",
};

static const char *const acme_offer[] = {
    "I have {day} at {time} or {day2} at {time2} with {who}. Which works "
    "better for you?",
    "The next openings with {who} are {day} at {time} and {day2} at {time2}.",
    "I can fit you in on {day} at {time}, or if you prefer {day2}, there's "
    "{time2}.",
};

static const char *const acme_take_first[] = {
    "{day} at {time} works for me.",
    "The first one, please.",
    "Let's do {day} at {time}.",
    "{day} is good.",
};

static const char *const acme_take_second[] = {
    "{day2} at {time2}, please.",
    "The second one works better.",
    "I'll take {day2}.",
};

static const char *const acme_negotiate[] = {
    "Do you have anything earlier in the morning?",
    "Neither of those really works. Anything later in the day?",
    "Hmm, is there something next week instead?",
};

static const char *const acme_reoffer[] = {
    "Let me check. I also have {day2} at {time2}. Would that work?",
    "I found another opening on {day2} at {time2}. Does that suit you?",
};

static const char *const acme_accept_reoffer[] = {
    "Yes, {day2} at {time2} is fine.",
    "That works, thanks.",
    "Okay, let's do that one.",
};

static const char *const acme_booked[] = {
    "You're booked for {day} at {time} with {who}. Your appointment is "
    "confirmed, and I've sent you a text confirmation.",
    "All set! You're booked for {day} at {time}. Your appointment is "
    "confirmed, and we'll text you a reminder the day before.",
    "Great, your appointment is confirmed for {day} at {time} with {who}. "
    "I've sent a text confirmation to the number on file.",
};

static const char *const acme_booked_nosms[] = {
    "You're booked for {day} at {time} with {who}, and your appointment is "
    "confirmed. The confirmation text didn't go out, so please note the "
    "time.",
};

static const char *const acme_slot_taken[] = {
    "I'm sorry, I couldn't book that slot, it was just taken. Would {day2} "
    "at {time2} work instead?",
    "Unfortunately that time is no longer available, so I wasn't able to "
    "book it. Could you do {day2} at {time2}?",
};

static const char *const acme_yes_alt[] = {
    "Yes, {day2} works.", "Sure, that's fine.", "Okay, book that one then.",
};

static const char *const acme_no_alt[] = {
    "No, that doesn't work for me.",
    "No, I can't do {day2}.",
};

static const char *const acme_book_failed[] = {
    "I'm sorry, something went wrong with the booking on my end.",
    "I'm sorry, the booking didn't go through. Our scheduling system isn't "
    "responding.",
};

static const char *const acme_no_booking[] = {
    "I understand. I wasn't able to complete the booking today, but the "
    "front desk will call you back to find a time.",
    "I'm sorry I couldn't book that for you. Someone from our office will "
    "call you back within the hour.",
};

static const char *const acme_to_desk[] = {
    "Let me transfer you to a colleague at the front desk who can finish "
    "this for you.",
    "I'm going to transfer you to a colleague at the front desk. One moment, "
    "please.",
};

static const char *const acme_resched_ask[] = {
    "Hi, I need to move my appointment on {day}.",
    "I have a {svc} on {day} at {time} and I need to reschedule.",
    "Something came up and I can't make it {day}. Can we move my "
    "appointment?",
};

static const char *const acme_resched_seen[] = {
    "I see your {svc} on {day} at {time} with {who}. What day works better "
    "for you?",
    "I have you down for {day} at {time}. When would you like to come in "
    "instead?",
};

static const char *const acme_resched_want[] = {
    "How about {day2}, in the afternoon?",
    "Anything on {day2}?",
    "{day2} would be best.",
};

static const char *const acme_resched_offer[] = {
    "On {day2} I have {time2}. Shall I move it there?",
    "I can move you to {day2} at {time2}. Would you like me to do that?",
};

static const char *const acme_resched_done[] = {
    "Done. You're booked for {day2} at {time2} instead, and your appointment "
    "is confirmed.",
    "All set, your appointment is now confirmed for {day2} at {time2}.",
};

static const char *const acme_resched_fail[] = {
    "I'm sorry, I couldn't move the appointment. The booking didn't go "
    "through on our side.",
};

static const char *const acme_cancel_ask[] = {
    "I need to cancel my appointment on {day}.",
    "Hi, I'd like to cancel my {svc}, I'm not going to make it.",
    "Can you cancel my appointment? I'm moving out of state.",
};

static const char *const acme_cancel_offer[] = {
    "I'm sorry to hear that. Would you like to reschedule instead of "
    "cancelling?",
    "I can do that. Before I cancel, would another day work better for "
    "you?",
};

static const char *const acme_cancel_just[] = {
    "No, please just cancel it.", "No thanks, just cancel.",
    "No, cancel it please.",
};

static const char *const acme_cancelled[] = {
    "Your {day} appointment has been cancelled. You'll get a text confirming "
    "the cancellation.",
    "Okay, I've cancelled your appointment on {day}. We hope to see you "
    "again soon.",
};

static const char *const acme_late_fee[] = {
    "Since it's within 24 hours, there is a $25 late cancellation fee.",
};

static const char *const acme_fee_angry[] = {
    "A fee? That's ridiculous, nobody told me about that.",
    "Are you serious? I'm not paying a fee for that.",
};

static const char *const acme_fee_transfer[] = {
    "I understand how frustrating that is. Let me transfer you to a "
    "colleague who can review the fee with you.",
};

static const char *const acme_ins_ask[] = {
    "Hi, do you take {ins}?",
    "I wanted to check whether my {ins} plan covers a {svc}.",
    "Is a {svc} covered by {ins}? I just switched plans.",
    "Hi, I have a question about my insurance. I'm with {ins}.",
};

static const char *const acme_ins_id[] = {
    "Let me check that for you. Can I have the patient's name and date of "
    "birth?",
    "Sure, I can look into your coverage. What's your name and date of "
    "birth?",
};

static const char *const acme_ins_covered[] = {
    "Good news: we're in network with {ins}, and a {svc} is usually covered "
    "at 80 to 100 percent, depending on your plan.",
    "Yes, we accept {ins}. Your plan covers two cleanings a year, and you "
    "have both left this year.",
};

static const char *const acme_ins_complex[] = {
    "I'm not able to confirm the exact coverage for your plan. Let me "
    "transfer you to a colleague in billing who can look at your benefits.",
    "Your plan has some special conditions I can't check from here. I'm "
    "going to transfer you to a colleague, our billing coordinator.",
};

static const char *const acme_ins_out[] = {
    "I'm sorry, we're not in network with {ins}. You can still be seen, but "
    "you'd pay out of pocket and file the claim yourself.",
};

static const char *const acme_ins_down[] = {
    "I'm sorry, I couldn't reach the insurance verification system right "
    "now.",
};

static const char *const acme_ins_then_book[] = {
    "Great, can I book one then?",
    "Okay, good. Can I schedule a {svc} while I have you?",
};

static const char *const acme_bill_ask[] = {
    "I got a bill for {amount} and I thought my insurance covered that.",
    "Why was I charged {amount} for my last visit?",
    "I'd like to pay my balance.",
    "Hi, I have a question about my bill.",
};
#define ACME_BILL_PAY 2 /* the index above that is not a dispute */

static const char *const acme_bill_seen[] = {
    "I can see a balance of {amount} from your last visit. That's the part "
    "your insurance didn't cover.",
    "Your account shows {amount} outstanding after insurance.",
};

static const char *const acme_card_pii[] = {
    "Can I just give you my card? It's {card}.",
    "Okay, let me pay now. The card number is {card}, expiry 08/29.",
};

static const char *const acme_card_stop[] = {
    "Please don't read out your full card number. For your security I'll "
    "text you a secure payment link instead.",
};

static const char *const acme_pay_link[] = {
    "I've texted you a secure link where you can pay the balance.",
    "You'll get a text with a secure payment link in a moment.",
};

static const char *const acme_bill_dispute[] = {
    "That doesn't sound right, insurance should have paid all of it.",
    "I'm not paying that, I was told it was covered.",
};

static const char *const acme_bill_transfer[] = {
    "I understand. Let me transfer you to a colleague, our billing "
    "coordinator, who can review the claim with you.",
};

static const char *const acme_urgent_ask[] = {
    "Hi, I have really bad tooth pain and my face is a little swollen.",
    "I chipped my tooth this morning and it really hurts.",
    "My crown fell out and I'm in a lot of pain.",
};

static const char *const acme_urgent_transfer[] = {
    "I'm sorry to hear that. Let me transfer you to a colleague at the front "
    "desk right away so we can see you today.",
    "I'm sorry you're in pain. I'm going to transfer you to a colleague who "
    "can fit you in as an emergency.",
};

static const char *const acme_urgent_slot[] = {
    "I'm sorry to hear that. I have an emergency slot today at {time2}. "
    "Shall I book it?",
};

static const char *const acme_general_ask[] = {
    "What are your hours on Saturday?",
    "Where do I park when I come in?",
    "Do you see kids?",
    "Are you open on {day}?",
    "What's your address again?",
};

/* Answers in the order of acme_general_ask. */
static const char *const acme_general_answer[] = {
    "We're open Monday to Friday from 8am to 6pm, and Saturdays from 9am to "
    "1pm.",
    "There's free parking behind the building; the entrance is on the left.",
    "Yes, {who} sees children from age three.",
    "Yes, on {day} we're open from 8am to 6pm.",
    "We're at 120 Main Street, second floor, next to the pharmacy.",
};

static const char *const acme_reminder_open[] = {
    "Hi, this is Acme Dental calling with a reminder for {name}. You have a "
    "{svc} with {who} on {day} at {time}. Can you confirm you'll be there?",
    "Hello, this is {bot} from Acme Dental. I'm calling to confirm {name}'s "
    "appointment on {day} at {time}. Will you be able to make it?",
};

static const char *const acme_reminder_vm[] = {
    "Hi, this is Acme Dental calling for {name} to remind you of your "
    "appointment on {day} at {time}. Please call us back at 212 555 0100 if "
    "you need to reschedule. Thank you!",
};

static const char *const acme_reminder_yes[] = {
    "Yes, I'll be there.", "Yep, see you then.", "Yes, that's right.",
};

static const char *const acme_reminder_confirmed[] = {
    "Great, your appointment is confirmed. See you {day}!",
    "Thank you, you're confirmed for {day} at {time}.",
};

static const char *const acme_reminder_move[] = {
    "Actually, can I move it? {day} doesn't work anymore.",
    "Oh, I forgot about that. Can we do {day2} instead?",
};

/* Follow-up questions and their answers, index by index. */
static const char *const acme_side_q[] = {
    "Do I need to bring anything?",
    "How long will it take?",
    "Can I get a reminder by text?",
    "Will it hurt?",
    "Is there a fee if I can't make it?",
    "Is {who} good with nervous patients?",
};

static const char *const acme_side_a[] = {
    "Just your insurance card and a photo ID.",
    "A {svc} usually takes 45 minutes to an hour.",
    "Yes, we'll text you a reminder the day before.",
    "Most patients find it comfortable, and {who} will numb the area if "
    "needed.",
    "We ask for 24 hours' notice, otherwise there's a $25 fee.",
    "Yes, {who} is known for being very gentle. Patients love that.",
};

static const char *const acme_readback[] = {
    "Just to confirm: a {svc} with {who} on {day} at {time}. Is that right?",
    "Let me read that back: {day} at {time} with {who}. Correct?",
};

static const char *const acme_readback_yes[] = {
    "Yes, that's right.", "Correct.", "Yep, that's it.",
};

static const char *const acme_es_greet[] = {
    "Gracias por llamar a Acme Dental. ¿En qué puedo ayudarle?",
};

static const char *const acme_es_ask[] = {
    "Hola, quisiera hacer una cita para una limpieza esta semana.",
    "Buenos días, necesito una cita con el dentista, por favor.",
};

static const char *const acme_es_id[] = {
    "Claro. ¿Me puede dar su nombre completo y fecha de nacimiento?",
};

static const char *const acme_es_give_id[] = {
    "Sí, {full}.", "Me llamo {full}.",
};

static const char *const acme_es_offer[] = {
    "Tengo disponible el jueves a las 10 de la mañana. ¿Le parece bien?",
    "Hay una cita el martes a las 3 de la tarde. ¿Le funciona?",
};

static const char *const acme_es_yes[] = {
    "Sí, perfecto.", "Sí, está bien.",
};

static const char *const acme_es_booked[] = {
    "Listo, su cita está confirmada. Le enviamos un mensaje de texto con "
    "los detalles.",
};

static const char *const acme_es_bye[] = {
    "Muchas gracias, muy amable.", "Gracias, adiós.",
};

static const char *const acme_es_farewell[] = {
    "De nada, ¡que tenga un buen día!",
};

static void acme_setup(struct cs_sample_conv *c, double progress)
{
    static const int scenario_w[] = {40, 15, 10, 14, 6, 4, 11};

    c->company_number = "+12125550100";
    c->customer = (1u << 24) | cs_rng_below(&c->rng, 6000);
    cs_sample_phone_handle(c);
    c->mood = pick_mood(c, 55, 35, 10);
    c->pii = CHANCE(c, 0.08);
    c->tagging = CHANCE(c, 0.5);
    cs_sample_set(c, CS_SLOT_BOT, "Ava");
    cs_sample_set(c, CS_SLOT_SVC, CS_PICK(c, acme_services));
    cs_sample_set(c, CS_SLOT_WHO, CS_PICK(c, acme_dentists));
    cs_sample_set(c, CS_SLOT_INS, CS_PICK(c, acme_insurers));
    if (CHANCE(c, 0.08)) {
        c->outbound = 1;
        c->agent = "reminder-v1";
        c->version = 1;
        c->campaign = "appointment-reminders";
        c->scenario = ACME_REMINDER;
        c->llm_median_ms = 600;
        c->attempt = 1 + (int)cs_rng_below(&c->rng, 2);
        return;
    }
    if (CHANCE(c, 0.1 + 0.7 * progress)) {
        c->agent = "receptionist-v4";
        c->version = 4;
        c->logs_metrics = 1;
        c->llm_median_ms = 500;
    } else {
        c->agent = "receptionist-v3";
        c->version = 3;
        c->llm_median_ms = 600;
    }
    if (CHANCE(c, 0.03)) {
        c->spanish = 1;
        c->locale = "es-US";
        c->scenario = ACME_SPANISH;
        c->pii = 0;
        return;
    }
    c->scenario = (int)cs_rng_weighted(&c->rng, CS_POOL(scenario_w));
}

/* Looks the caller up; with `may_be_new`, registers a new patient now and
 * then (only callers who book or ask about insurance can be new). */
static void acme_identify(struct cs_sample_conv *c, int ask, int may_be_new)
{
    if (ask)
        AGENT(c, acme_ask_id);
    CUSTOMER(c, acme_give_id);
    cs_sample_tool(c, "crm.lookup", NULL, 0.02, 160);
    if (may_be_new && CHANCE(c, 0.25)) {
        AGENT(c, acme_new_patient);
        if (c->pii)
            CUSTOMER(c, acme_contact_pii);
        else
            CUSTOMER(c, acme_contact_plain);
        cs_sample_tool(c, "crm.update", "crm_update", 0.02, 210);
        agent1(c, "Thanks, you're all set up in our system.");
    } else {
        AGENT(c, acme_found);
    }
}

/* Books {day} at {time} (after an offer); sets task_ok. */
static void acme_book_slot(struct cs_sample_conv *c)
{
    double taken_p = c->version == 4 ? 0.03 : 0.07;
    int ok;

    ok = cs_sample_tool(c, "calendar.book", "appointment", 0.025, 360);
    if (ok && CHANCE(c, taken_p)) {
        AGENT(c, acme_slot_taken);
        if (CHANCE(c, 0.6)) {
            CUSTOMER(c, acme_yes_alt);
            take_alternative(c);
            ok = cs_sample_tool(c, "calendar.book", "appointment", 0.025, 360);
        } else {
            CUSTOMER(c, acme_no_alt);
            AGENT(c, acme_no_booking);
            c->task_ok = 0;
            return;
        }
    }
    if (!ok) {
        AGENT(c, acme_book_failed);
        c->task_ok = 0;
        if (CHANCE(c, 0.2)) {
            agent1(c, "I've pencilled you in for {day} at {time}, and the "
                      "front desk will call you back to confirm.");
            return;
        }
        if (CHANCE(c, 0.55)) {
            AGENT(c, acme_to_desk);
            cs_sample_handoff(c, "warm", "front-desk", "tool_failure");
        } else {
            AGENT(c, acme_no_booking);
        }
        return;
    }
    if (cs_sample_tool(c, "sms.send", NULL, 0.015, 110))
        AGENT(c, acme_booked);
    else
        AGENT(c, acme_booked_nosms);
    c->task_ok = 1;
}

static void acme_offer_and_book(struct cs_sample_conv *c)
{
    if (!cs_sample_tool(c, "calendar.search", NULL, 0.02, 240)) {
        agent1(c, "I'm sorry, I'm having trouble reaching our scheduling "
                  "system. Let me try that again.");
        cs_sample_tool(c, "calendar.search", NULL, 0.02, 240);
    }
    AGENT(c, acme_offer);
    if (c->mood == CS_MOOD_NEGATIVE && CHANCE(c, 0.5))
        complain(c);
    if (CHANCE(c, 0.2)) {
        CUSTOMER(c, acme_negotiate);
        cs_sample_tool(c, "calendar.search", NULL, 0.02, 240);
        AGENT(c, acme_reoffer);
        CUSTOMER(c, acme_accept_reoffer);
        take_alternative(c);
    } else if (CHANCE(c, 0.3)) {
        CUSTOMER(c, acme_take_second);
        take_alternative(c);
    } else {
        CUSTOMER(c, acme_take_first);
    }
    if (CHANCE(c, 0.5)) {
        AGENT(c, acme_readback);
        CUSTOMER(c, acme_readback_yes);
    }
    acme_book_slot(c);
    if (c->task_ok == 1)
        side_questions(c, acme_side_q, acme_side_a, NELEM(acme_side_q), 3);
    if (c->logs_metrics)
        cs_sample_metric_bool(c, "booking_completed", c->task_ok == 1);
}

static void acme_reschedule_tail(struct cs_sample_conv *c)
{
    CUSTOMER(c, acme_resched_want);
    cs_sample_tool(c, "calendar.search", NULL, 0.02, 240);
    AGENT(c, acme_resched_offer);
    CUSTOMER(c, yes_please);
    if (cs_sample_tool(c, "calendar.reschedule", "appointment", 0.025, 380) &&
        !CHANCE(c, 0.03)) {
        cs_sample_tool(c, "sms.send", NULL, 0.015, 110);
        AGENT(c, acme_resched_done);
        c->task_ok = 1;
        side_questions(c, acme_side_q, acme_side_a, NELEM(acme_side_q), 2);
    } else {
        AGENT(c, acme_resched_fail);
        c->task_ok = 0;
        if (CHANCE(c, 0.5)) {
            AGENT(c, acme_to_desk);
            cs_sample_handoff(c, "warm", "front-desk", "tool_failure");
        } else {
            AGENT(c, acme_no_booking);
        }
    }
    if (c->logs_metrics)
        cs_sample_metric_bool(c, "booking_completed", c->task_ok == 1);
}

static void acme_talk_spanish(struct cs_sample_conv *c)
{
    AGENT(c, acme_es_greet);
    CUSTOMER(c, acme_es_ask);
    AGENT(c, acme_es_id);
    CUSTOMER(c, acme_es_give_id);
    cs_sample_tool(c, "crm.lookup", NULL, 0.02, 160);
    cs_sample_tool(c, "calendar.search", NULL, 0.02, 240);
    AGENT(c, acme_es_offer);
    CUSTOMER(c, acme_es_yes);
    cs_sample_tool(c, "calendar.book", "appointment", 0.0, 360);
    cs_sample_tool(c, "sms.send", NULL, 0.0, 110);
    AGENT(c, acme_es_booked);
    CUSTOMER(c, acme_es_bye);
    AGENT(c, acme_es_farewell);
    c->task_ok = 1;
    c->mood = CS_MOOD_POSITIVE;
    cs_sample_topic(c, "booking");
    reason(c, R_BOOKING);
    if (c->logs_metrics)
        cs_sample_metric_bool(c, "booking_completed", 1);
}

static void acme_reminder(struct cs_sample_conv *c)
{
    cs_sample_topic(c, "reminder");
    if (CHANCE(c, 0.25)) {
        AGENT(c, acme_reminder_vm);
        c->voicemail = 1;
        cs_sample_metric_bool(c, "voicemail", 1);
        return;
    }
    AGENT(c, acme_reminder_open);
    if (CHANCE(c, 0.75)) {
        CUSTOMER(c, acme_reminder_yes);
        cs_sample_tool(c, "crm.update", "crm_update", 0.02, 200);
        AGENT(c, acme_reminder_confirmed);
        c->task_ok = 1;
    } else if (CHANCE(c, 0.7)) {
        CUSTOMER(c, acme_reminder_move);
        agent1(c, "No problem. What day would suit you better?");
        acme_reschedule_tail(c);
    } else {
        customer1(c, "I need to cancel, sorry.");
        cs_sample_tool(c, "calendar.cancel", "crm_update", 0.02, 260);
        AGENT(c, acme_cancelled);
        c->task_ok = 1;
    }
    wrap_up(c, CS_POOL(acme_bye), CS_POOL(acme_bye_sorry));
}

static void acme_talk(struct cs_sample_conv *c)
{
    uint32_t k;

    if (c->scenario == ACME_REMINDER) {
        acme_reminder(c);
        return;
    }
    if (c->scenario == ACME_SPANISH) {
        acme_talk_spanish(c);
        return;
    }
    if (CHANCE(c, 0.3))
        cs_sample_system(c, "Call recording disclosure played.", 0);
    if (c->version == 4)
        AGENT(c, acme_greet_v4);
    else
        AGENT(c, acme_greet_v3);

    switch (c->scenario) {
    case ACME_BOOK:
        cs_sample_topic(c, "booking");
        reason(c, R_BOOKING);
        CUSTOMER(c, acme_book_ask);
        acme_identify(c, 1, 1);
        if (maybe_ask_human(c, 0.08, "front-desk"))
            return;
        acme_offer_and_book(c);
        break;
    case ACME_RESCHEDULE:
        cs_sample_topic(c, "reschedule");
        reason(c, R_RESCHEDULE);
        CUSTOMER(c, acme_resched_ask);
        acme_identify(c, 1, 0);
        if (maybe_ask_human(c, 0.05, "front-desk"))
            return;
        cs_sample_tool(c, "calendar.search", NULL, 0.02, 240);
        AGENT(c, acme_resched_seen);
        acme_reschedule_tail(c);
        break;
    case ACME_CANCEL:
        cs_sample_topic(c, "cancellation");
        reason(c, R_CANCEL);
        CUSTOMER(c, acme_cancel_ask);
        acme_identify(c, 1, 0);
        AGENT(c, acme_cancel_offer);
        if (CHANCE(c, 0.3)) {
            customer1(c, "Actually, yes, let's reschedule.");
            agent1(c, "Sure. What day works better for you?");
            acme_reschedule_tail(c);
            break;
        }
        CUSTOMER(c, acme_cancel_just);
        if (CHANCE(c, 0.15)) {
            AGENT(c, acme_late_fee);
            CUSTOMER(c, acme_fee_angry);
            c->mood = CS_MOOD_NEGATIVE;
            if (CHANCE(c, 0.6)) {
                AGENT(c, acme_fee_transfer);
                cs_sample_handoff(c, "warm", "front-desk", "fee_dispute");
                return;
            }
            AGENT(c, empathy);
        }
        cs_sample_tool(c, "calendar.cancel", "crm_update", 0.02, 260);
        cs_sample_tool(c, "sms.send", NULL, 0.015, 110);
        AGENT(c, acme_cancelled);
        c->task_ok = 1;
        break;
    case ACME_INSURANCE:
        cs_sample_topic(c, "insurance");
        reason(c, R_INSURANCE);
        CUSTOMER(c, acme_ins_ask);
        AGENT(c, acme_ins_id);
        acme_identify(c, 0, 1);
        if (!cs_sample_tool(c, "insurance.verify", NULL, 0.06, 1400)) {
            AGENT(c, acme_ins_down);
            if (CHANCE(c, 0.5)) {
                AGENT(c, acme_to_desk);
                cs_sample_handoff(c, "cold", "billing-coordinator",
                                  "tool_failure");
                return;
            }
            agent1(c, "Our billing coordinator will call you back today "
                      "with your coverage details.");
            c->task_ok = 0;
            break;
        }
        if (CHANCE(c, c->version == 4 ? 0.3 : 0.4)) {
            AGENT(c, acme_ins_complex);
            cs_sample_handoff(c, "warm", "billing-coordinator",
                              "insurance_question");
            return;
        }
        if (CHANCE(c, 0.18)) {
            AGENT(c, acme_ins_out);
            if (c->mood != CS_MOOD_POSITIVE)
                customer1(c, "That's not helpful. I'm not happy about that.");
            else
                customer1(c, "Oh, okay. Good to know.");
            c->task_ok = 1;
            break;
        }
        AGENT(c, acme_ins_covered);
        c->task_ok = 1;
        if (CHANCE(c, 0.35)) {
            CUSTOMER(c, acme_ins_then_book);
            acme_offer_and_book(c);
        } else {
            CUSTOMER(c, ok_acks);
        }
        break;
    case ACME_BILLING:
        cs_sample_topic(c, "billing");
        reason(c, R_BILLING);
        k = PICK_INDEX(c, acme_bill_ask);
        customer1(c, acme_bill_ask[k]);
        acme_identify(c, 1, 0);
        cs_sample_tool(c, "billing.lookup", NULL, 0.02, 300);
        AGENT(c, acme_bill_seen);
        if (k != ACME_BILL_PAY && CHANCE(c, 0.55)) {
            CUSTOMER(c, acme_bill_dispute);
            AGENT(c, acme_bill_transfer);
            cs_sample_handoff(c, "warm", "billing-coordinator",
                              "billing_dispute");
            return;
        }
        if (c->pii && CHANCE(c, 0.6)) {
            CUSTOMER(c, acme_card_pii);
            cs_sample_tool(c, "sms.send", NULL, 0.015, 110);
            AGENT(c, acme_card_stop);
        } else {
            customer1(c, "Okay, how can I pay it?");
            cs_sample_tool(c, "sms.send", NULL, 0.015, 110);
            AGENT(c, acme_pay_link);
        }
        c->task_ok = 1;
        break;
    case ACME_URGENT:
        cs_sample_topic(c, "emergency");
        reason(c, R_BOOKING);
        CUSTOMER(c, acme_urgent_ask);
        if (CHANCE(c, 0.8)) {
            AGENT(c, acme_urgent_transfer);
            cs_sample_handoff(c, "warm", "front-desk", "urgent_care");
            return;
        }
        cs_sample_tool(c, "calendar.search", NULL, 0.02, 240);
        AGENT(c, acme_urgent_slot);
        CUSTOMER(c, yes_please);
        cs_sample_set(c, CS_SLOT_DAY2, "today");
        take_alternative(c);
        acme_identify(c, 1, 0);
        acme_book_slot(c);
        break;
    default:
        cs_sample_topic(c, "general");
        reason(c, R_INFO);
        k = PICK_INDEX(c, acme_general_ask);
        customer1(c, acme_general_ask[k]);
        agent1(c, acme_general_answer[k]);
        if (maybe_ask_human(c, 0.12, "front-desk"))
            return;
        CUSTOMER(c, ok_acks);
        break;
    }
    if (c->pii && !c->handoff && CHANCE(c, 0.4)) {
        customer1(c, "Oh, and my new number is {phone}, in case you need to "
                     "reach me.");
        cs_sample_tool(c, "crm.update", "crm_update", 0.02, 210);
        agent1(c, "Got it, I've updated your phone number on file.");
    }
    wrap_up(c, CS_POOL(acme_bye), CS_POOL(acme_bye_sorry));
}

/* ---- northwind-support -------------------------------------------------- */

enum {
    NW_PASSWORD, NW_BILLING, NW_TECH, NW_ACCOUNT, NW_CANCEL, NW_OTHER
};

static const char *const nw_plans[] = {
    "Fiber 500", "Fiber 1000", "Basic 100", "Premium Bundle",
};

static const char *const nw_devices[] = {
    "router", "modem", "set-top box", "mesh extender",
};

static const char *const nw_greet_voice[] = {
    "Thank you for calling Northwind support. I'm {bot}, a virtual "
    "assistant. What can I help you with today?",
    "Welcome to Northwind. I'm {bot}, the virtual support agent. Tell me "
    "briefly what you need help with.",
};

static const char *const nw_greet_chat[] = {
    "Hi! I'm {bot}, Northwind's virtual assistant. How can I help?",
    "Hello and welcome to Northwind support. What can I do for you today?",
};

static const char *const nw_bye[] = {
    "Thanks for contacting Northwind, {name}. Have a great day!",
    "You're welcome! Take care.",
    "Happy to help. Goodbye!",
};

static const char *const nw_bye_sorry[] = {
    "I'm sorry for the trouble today, {name}. Thank you for your patience.",
    "I understand, and I apologize again. Thank you for contacting "
    "Northwind.",
};

/* Customers who share personal data are asked for the e-mail address. */
static const char *const nw_auth_ask_email[] = {
    "Before I can look at your account, I need to verify your identity. "
    "What's the email address on the account?",
    "I'll need to verify you first. What's the email you signed up with?",
};

static const char *const nw_auth_pii[] = {
    "It's {email}.",
    "Sure, {email}.",
    "The email is {email}, and the account is under {full}.",
};

static const char *const nw_auth_ask_name[] = {
    "For security, can you confirm the account holder's name and the last "
    "four digits of the phone number on file?",
    "Before I can look at your account, I need to verify your identity. "
    "What's your name and your account number?",
};

static const char *const nw_auth_plain[] = {
    "It's under {full}, and the last four are {last4}.",
    "{full}. The account number is {account}.",
    "{full}. Last four digits {last4}.",
    "Account {account}, name's {full}.",
};

static const char *const nw_auth_ok[] = {
    "Thank you, {name}. I've verified your identity.",
    "Thanks, I've verified your identity and I can see your account now.",
    "Perfect, you're verified. I have your account open.",
};

static const char *const nw_auth_retry[] = {
    "I'm sorry, I couldn't verify your account with those details. Could "
    "you give me the phone number on the account instead?",
    "Hmm, those details don't match what I have, so I couldn't verify your "
    "account. Can you try the phone number on file?",
};

static const char *const nw_auth_phone_pii[] = {
    "Try {phone}.",
    "It should be {phone}.",
};

static const char *const nw_auth_phone_plain[] = {
    "It's the number I'm using now, the last four are {last4}.",
    "The last four of my phone are {last4}.",
};

static const char *const nw_auth_fail[] = {
    "I'm sorry, I still couldn't verify your account, so I can't make "
    "changes to it. Let me transfer you to a colleague who can verify you "
    "another way.",
    "Unfortunately I couldn't verify your account. For your security, I'm "
    "going to transfer you to a colleague who can help.",
};

static const char *const nw_pw_ask[] = {
    "I can't log in to my account, I think I forgot my password.",
    "I'm locked out of my account after too many attempts.",
    "The password reset email never arrives.",
    "Hi, I need to reset my password.",
};

static const char *const nw_pw_sent[] = {
    "I've unlocked your account and sent a password reset link to your "
    "email. It expires in 30 minutes.",
    "Done. I've sent you a new reset link; please use it within the next 30 "
    "minutes.",
};

static const char *const nw_pw_worked[] = {
    "Got it, I'm in. Thanks!",
    "Okay, that worked. Great, thank you.",
    "Yes, I just reset it.",
};

static const char *const nw_pw_missing[] = {
    "It's not there.",
    "I still don't see anything in my inbox.",
};

static const char *const nw_pw_ticket[] = {
    "I'm sorry about that. I've opened ticket {ticket} so our team can look "
    "into the email delivery, and you'll hear back within a day.",
};

static const char *const nw_bill_ask[] = {
    "I was charged twice this month.",
    "Why is my bill {amount} this month? It's usually a lot less.",
    "I'd like a refund for last month, the service was down for days.",
    "There's a charge of {amount} on my statement that I don't recognize.",
};

/* Findings in the order of nw_bill_ask. */
static const char *const nw_bill_seen[] = {
    "I can see two charges of {amount} on your last invoice. I'm sorry "
    "about that, that's our mistake.",
    "Your {plan} promotion ended last month, which is why the bill went up. "
    "I can credit part of it as a one-time courtesy.",
    "I can see the outage on your line last month, so you're due a credit "
    "of {amount}.",
    "I see an extra charge of {amount} for a pay-per-view order. It looks "
    "like it was added by mistake.",
};

static const char *const nw_refund_ok[] = {
    "I've issued a refund of {amount}. It should appear on your statement "
    "within 3 to 5 business days.",
    "Done, a credit of {amount} has been applied to your account.",
};

static const char *const nw_refund_fail[] = {
    "I'm sorry, the refund didn't go through on my end. Let me transfer you "
    "to a colleague in billing who can process it manually.",
};

static const char *const nw_refund_big[] = {
    "Refunds of that size need approval from a billing specialist, so let "
    "me transfer you to a colleague in billing.",
    "I can't approve that amount myself. I'm going to transfer you to a "
    "colleague on our billing team.",
};

static const char *const nw_card_pii[] = {
    "Can I update my card while I have you? The new one is {card}.",
    "Just charge my other card, it's {card}.",
};

static const char *const nw_card_stop[] = {
    "Please don't share full card numbers here. I'll send you a secure link "
    "to update your payment method.",
};

/* Problem, finding and first step, index by index; NW_TECH_APP is the one
 * problem that is not about the connection. */
static const char *const nw_tech_ask[] = {
    "My internet keeps dropping every few minutes.",
    "The app crashes every time I open settings.",
    "My {device}'s light is blinking orange and nothing works.",
    "I'm getting an error that says service unavailable when I try to "
    "stream.",
    "My Wi-Fi is really slow in the evenings.",
};
#define NW_TECH_APP 1

static const char *const nw_tech_diag[] = {
    "I ran a line test and I can see some packet loss on your connection.",
    "I can see the app version on your phone is out of date.",
    "I can see your {device} went offline a few times today.",
    "There was a streaming outage in your area that was fixed a few minutes "
    "ago.",
    "Your {device} is online, but the signal levels look low.",
};

static const char *const nw_tech_step[] = {
    "Let's try restarting the {device}: unplug it for thirty seconds, then "
    "plug it back in. Let me know when the lights are back on.",
    "Please update the app from the app store, then open it again. Let me "
    "know if it still crashes.",
    "Could you restart your {device}? Hold the reset button for ten seconds "
    "and tell me when it comes back up.",
    "Could you restart the {device} so it picks up the fix, and try "
    "streaming again?",
    "Try moving the {device} somewhere more central and restarting it. Tell "
    "me when it's back up.",
};

static const char *const nw_tech_fixed[] = {
    "Okay, it's back on. Oh, it's working now!",
    "Alright, done. Yes, that seems to have fixed it.",
    "It's back. Looks good now, thanks.",
};

static const char *const nw_tech_notfixed[] = {
    "I did that and it's still not working.",
    "That didn't help at all.",
    "Same problem, nothing changed.",
};

static const char *const nw_tech_ticket[] = {
    "I've opened ticket {ticket} for our technical team. A technician will "
    "contact you within 24 hours.",
    "I've created ticket {ticket} and booked a technician check. You'll get "
    "an update by email.",
};

static const char *const nw_tech_escalate[] = {
    "This needs a specialist. Let me transfer you to a colleague in "
    "technical support.",
    "I'd like a senior technician to look at this, so I'm going to transfer "
    "you to a colleague.",
};

static const char *const nw_acct_ask[] = {
    "I need to change the email address on my account.",
    "I moved and need to update my address.",
    "Can you add my partner as an authorized user?",
};

static const char *const nw_acct_what[] = {
    "Sure. What would you like it changed to?",
    "No problem. What are the new details?",
};

/* Details in the order of nw_acct_ask, with and without personal data. */
static const char *const nw_acct_pii[] = {
    "Please change it to {email2}.",
    "It's 42 Harbor Street, apartment 3B. And my new phone is {phone}.",
    "Her name is Laura, and she'd like updates at {email2}.",
};

static const char *const nw_acct_plain[] = {
    "Use the new email I added in the app, it's already there.",
    "It's 42 Harbor Street, apartment 3B.",
    "Her name is Laura, same last name as mine.",
};

static const char *const nw_acct_done[] = {
    "Done, I've updated your account. You'll get a confirmation shortly.",
    "All updated. Is that everything for your account?",
};

static const char *const nw_cancel_ask[] = {
    "I want to cancel my subscription.",
    "I'd like to cancel my service, it's too expensive.",
    "Please cancel my account, I'm moving.",
};

static const char *const nw_retention[] = {
    "I'm sorry to hear you want to leave. Before I cancel, I can offer you "
    "three months at half price. Would you like that?",
    "I understand. Before you go, would a free upgrade to {plan} for six "
    "months change your mind?",
};

static const char *const nw_retention_yes[] = {
    "Okay, that sounds fair, let's do that.",
    "Fine, I'll stay if you do that.",
};

static const char *const nw_retention_no[] = {
    "No, I just want to cancel.",
    "No thanks. Please cancel it.",
};

static const char *const nw_cancelled[] = {
    "Your subscription has been cancelled. You'll have service until the "
    "end of your billing period.",
    "I've cancelled your service effective {date}. We're sorry to see you "
    "go.",
};

static const char *const nw_other_ask[] = {
    "Is there an outage in my area?",
    "Where's my replacement {device}? I ordered it last week.",
    "Can you tell me when my contract ends?",
};

/* Answers in the order of nw_other_ask. */
static const char *const nw_other_answer[] = {
    "There's a known outage in your area; engineers expect it to be fixed "
    "by 6pm today.",
    "Your replacement {device} shipped yesterday and should arrive on "
    "{day}.",
    "Your contract on the {plan} plan runs until {date}.",
};

static const char *const nw_side_q[] = {
    "Will this affect my bill?",
    "Can I get that in writing?",
    "Is my data safe, by the way?",
    "Do I need to do anything else on my side?",
    "How do I contact you if it happens again?",
};

static const char *const nw_side_a[] = {
    "No, this won't change your monthly bill.",
    "Yes, I'll send a summary to the email address on your account.",
    "Yes. Nothing in your account details was exposed.",
    "No, you're all set. It can take a few minutes to update everywhere.",
    "You can chat with us in the app or call this number any time.",
};

static const char *const nw_tech_step2[] = {
    "Let's also check the cables. Is the cable from the wall firmly plugged "
    "into the {device}?",
    "Can you open the app and run a speed test for me?",
};

static const char *const nw_tech_step2_reply[] = {
    "Okay, they're all plugged in.",
    "It says 12 megabits. I pay for a lot more than that.",
    "Hang on... okay, done.",
};

static void nw_setup(struct cs_sample_conv *c, double progress)
{
    static const int channel_w[] = {55, 38, 7};
    static const int scenario_w[] = {22, 24, 26, 10, 8, 10};
    uint32_t k;

    c->company_number = "+18005550199";
    c->customer = (2u << 24) | cs_rng_below(&c->rng, 20000);
    c->channel = (int)cs_rng_weighted(&c->rng, CS_POOL(channel_w));
    c->mood = pick_mood(c, 40, 38, 22);
    c->pii = CHANCE(c, 0.16);
    c->tagging = 1;
    cs_sample_set(c, CS_SLOT_BOT, "Nova");
    cs_sample_set(c, CS_SLOT_PLAN, CS_PICK(c, nw_plans));
    cs_sample_set(c, CS_SLOT_DEVICE, CS_PICK(c, nw_devices));
    k = c->customer & 0xffffff;
    if (c->channel == CS_SAMPLE_VOICE) {
        cs_sample_phone_handle(c);
        if (progress > 0.5 && CHANCE(c, (progress - 0.5) * 1.8)) {
            c->agent = "support-v8";
            c->version = 8;
            c->logs_metrics = 1;
            c->llm_median_ms = 530;
        } else {
            c->agent = "support-v7";
            c->version = 7;
            c->llm_median_ms = 580;
        }
    } else {
        if (c->channel == CS_SAMPLE_CHAT) {
            snprintf(c->customer_handle, sizeof(c->customer_handle),
                     "web:visitor-%06x", (unsigned)(k * 2654435761u) >> 8);
            c->entry = CHANCE(c, 0.6) ? "help-center" : "web-widget";
        } else {
            snprintf(c->customer_handle, sizeof(c->customer_handle),
                     "app:usr_%06u", (unsigned)(k * 7919u % 1000000u));
            c->entry = CHANCE(c, 0.55) ? "ios-app" : "android-app";
        }
        c->agent = "chat-assist-v2";
        c->version = 2;
        c->logs_metrics = 1;
        c->llm_median_ms = 460;
    }
    c->scenario = (int)cs_rng_weighted(&c->rng, CS_POOL(scenario_w));
}

/* Verifies the customer; returns 1 when verified, else hands off. */
static int nw_auth(struct cs_sample_conv *c)
{
    double fail_p = c->version == 8 ? 0.08 : 0.11;
    int attempts = 1;
    int ok;

    if (c->pii) {
        AGENT(c, nw_auth_ask_email);
        CUSTOMER(c, nw_auth_pii);
    } else {
        AGENT(c, nw_auth_ask_name);
        CUSTOMER(c, nw_auth_plain);
    }
    ok = cs_sample_tool(c, "auth.verify", NULL, 0.025, 340) &&
         !CHANCE(c, fail_p);
    if (!ok) {
        attempts++;
        AGENT(c, nw_auth_retry);
        if (c->pii)
            CUSTOMER(c, nw_auth_phone_pii);
        else
            CUSTOMER(c, nw_auth_phone_plain);
        ok = cs_sample_tool(c, "auth.verify", NULL, 0.025, 340) &&
             CHANCE(c, 0.6);
    }
    if (c->logs_metrics) {
        cs_sample_metric_bool(c, "auth_verified", ok);
        cs_sample_metric_num(c, "auth_attempts", attempts);
    }
    if (!ok) {
        AGENT(c, nw_auth_fail);
        cs_sample_handoff(c, "warm", "tier1-support", "auth_failed");
        c->task_ok = 0;
        return 0;
    }
    AGENT(c, nw_auth_ok);
    return 1;
}

static void nw_talk(struct cs_sample_conv *c)
{
    uint32_t k;
    int big;

    if (c->channel != CS_SAMPLE_VOICE && CHANCE(c, 0.5))
        cs_sample_system(c, "Customer opened the chat from the help center.",
                         0);
    if (c->channel == CS_SAMPLE_VOICE)
        AGENT(c, nw_greet_voice);
    else
        AGENT(c, nw_greet_chat);

    switch (c->scenario) {
    case NW_PASSWORD:
        cs_sample_topic(c, "password_reset");
        reason(c, R_TECH);
        CUSTOMER(c, nw_pw_ask);
        if (!nw_auth(c))
            return;
        cs_sample_tool(c, "account.unlock", "crm_update", 0.015, 250);
        cs_sample_tool(c, "email.send", NULL, 0.015, 180);
        AGENT(c, nw_pw_sent);
        if (CHANCE(c, 0.8)) {
            CUSTOMER(c, nw_pw_worked);
            c->task_ok = 1;
            break;
        }
        CUSTOMER(c, nw_pw_missing);
        agent1(c, "Could you check your spam or junk folder?");
        if (CHANCE(c, 0.5)) {
            customer1(c, "Oh, found it there. Thanks.");
            c->task_ok = 1;
            break;
        }
        CUSTOMER(c, nw_pw_missing);
        cs_sample_tool(c, "ticket.create", "ticket", 0.02, 420);
        AGENT(c, nw_pw_ticket);
        c->task_ok = 0;
        break;
    case NW_BILLING:
        cs_sample_topic(c, "billing");
        k = PICK_INDEX(c, nw_bill_ask);
        customer1(c, nw_bill_ask[k]);
        reason(c, R_BILLING);
        if (c->mood == CS_MOOD_NEGATIVE && CHANCE(c, 0.7))
            complain(c);
        if (!nw_auth(c))
            return;
        cs_sample_tool(c, "billing.lookup", NULL, 0.015, 300);
        agent1(c, nw_bill_seen[k]);
        cs_sample_topic(c, "refund");
        big = CHANCE(c, c->version == 8 ? 0.25 : 0.35);
        if (big) {
            AGENT(c, nw_refund_big);
            cs_sample_handoff(c, "warm", "billing-team", "refund_approval");
            return;
        }
        if (!cs_sample_tool(c, "billing.refund", "crm_update", 0.025, 800)) {
            AGENT(c, nw_refund_fail);
            cs_sample_handoff(c, "warm", "billing-team", "tool_failure");
            c->task_ok = 0;
            return;
        }
        AGENT(c, nw_refund_ok);
        c->task_ok = 1;
        if (c->logs_metrics)
            cs_sample_metric_num(c, "refund_cents",
                                 cs_rng_range(&c->rng, 1900, 18999));
        if (c->pii && CHANCE(c, 0.5)) {
            CUSTOMER(c, nw_card_pii);
            cs_sample_tool(c, "sms.send", NULL, 0.015, 110);
            AGENT(c, nw_card_stop);
        } else {
            CUSTOMER(c, ok_acks);
        }
        break;
    case NW_TECH:
        cs_sample_topic(c, "technical_issue");
        reason(c, R_TECH);
        k = PICK_INDEX(c, nw_tech_ask);
        customer1(c, nw_tech_ask[k]);
        if (c->mood == CS_MOOD_NEGATIVE && CHANCE(c, 0.5))
            complain(c);
        if (CHANCE(c, 0.7) && !nw_auth(c))
            return;
        cs_sample_tool(c, "diagnostics.run", NULL, 0.025, 1100);
        agent1(c, nw_tech_diag[k]);
        agent1(c, nw_tech_step[k]);
        if (CHANCE(c, 0.45)) {
            CUSTOMER(c, nw_tech_fixed);
            agent1(c, "Great! I'm glad that fixed it.");
            c->task_ok = 1;
            break;
        }
        CUSTOMER(c, nw_tech_notfixed);
        if (k != NW_TECH_APP && CHANCE(c, 0.5)) {
            AGENT(c, nw_tech_step2);
            CUSTOMER(c, nw_tech_step2_reply);
        }
        if (c->mood == CS_MOOD_NEGATIVE)
            complain(c);
        else
            agent1(c, "I'm sorry to hear that. Let me look a bit deeper.");
        if (CHANCE(c, c->version == 8 ? 0.35 : 0.45)) {
            AGENT(c, nw_tech_escalate);
            cs_sample_handoff(c, "warm", "tier2-support",
                              "technical_escalation");
            return;
        }
        if (!cs_sample_tool(c, "ticket.create", "ticket", 0.025, 420)) {
            agent1(c, "I'm sorry, there was an error creating the ticket. "
                      "Let me transfer you to a colleague who can log it.");
            cs_sample_handoff(c, "cold", "tier2-support", "tool_failure");
            c->task_ok = 0;
            return;
        }
        AGENT(c, nw_tech_ticket);
        c->task_ok = 1;
        if (c->logs_metrics)
            cs_sample_metric_bool(c, "ticket_created", 1);
        break;
    case NW_ACCOUNT:
        cs_sample_topic(c, "account_update");
        reason(c, R_OTHER);
        k = PICK_INDEX(c, nw_acct_ask);
        customer1(c, nw_acct_ask[k]);
        if (!nw_auth(c))
            return;
        AGENT(c, nw_acct_what);
        customer1(c, c->pii ? nw_acct_pii[k] : nw_acct_plain[k]);
        if (cs_sample_tool(c, "crm.update", "crm_update", 0.02, 220)) {
            AGENT(c, nw_acct_done);
            c->task_ok = 1;
        } else {
            agent1(c, "I'm sorry, I couldn't save that change right now. "
                      "Please try again later in the app.");
            c->task_ok = 0;
        }
        break;
    case NW_CANCEL:
        cs_sample_topic(c, "cancellation");
        reason(c, R_CANCEL);
        CUSTOMER(c, nw_cancel_ask);
        if (!nw_auth(c))
            return;
        AGENT(c, nw_retention);
        if (CHANCE(c, 0.3)) {
            CUSTOMER(c, nw_retention_yes);
            cs_sample_tool(c, "billing.discount", "crm_update", 0.015, 300);
            agent1(c, "Done, I've applied the offer to your next bills.");
            c->task_ok = 1;
            if (c->logs_metrics)
                cs_sample_metric_bool(c, "retained", 1);
            break;
        }
        if (CHANCE(c, 0.25)) {
            customer1(c, "I want to talk to someone about this.");
            transfer_line(c);
            cs_sample_handoff(c, "cold", "retention-team",
                              "cancellation_request");
            return;
        }
        CUSTOMER(c, nw_retention_no);
        cs_sample_tool(c, "subscription.cancel", "crm_update", 0.02, 450);
        AGENT(c, nw_cancelled);
        c->task_ok = 1;
        if (c->logs_metrics)
            cs_sample_metric_bool(c, "retained", 0);
        break;
    default:
        cs_sample_topic(c, "general");
        reason(c, R_OTHER);
        k = PICK_INDEX(c, nw_other_ask);
        customer1(c, nw_other_ask[k]);
        cs_sample_tool(c, "status.check", NULL, 0.015, 200);
        agent1(c, nw_other_answer[k]);
        if (maybe_ask_human(c, 0.12, "tier1-support"))
            return;
        CUSTOMER(c, ok_acks);
        break;
    }
    if (!c->handoff && maybe_ask_human(c, 0.04, "tier1-support"))
        return;
    if (c->task_ok == 1)
        side_questions(c, nw_side_q, nw_side_a, NELEM(nw_side_q), 2);
    wrap_up(c, CS_POOL(nw_bye), CS_POOL(nw_bye_sorry));
}

/* ---- bluebird-energy ---------------------------------------------------- */

enum { BB_REMINDER, BB_RENEWAL, BB_INBOUND };

static const char *const bb_rates[] = {
    "14.9", "15.4", "16.2", "13.8", "17.1",
};

static const char *const bb_bye[] = {
    "Thank you, {name}. Have a good day!",
    "Thanks for your time. Goodbye!",
};

static const char *const bb_bye_sorry[] = {
    "I'm sorry for the trouble, {name}. Thank you for your time.",
};

static const char *const bb_vm_reminder[] = {
    "Hi, this is the virtual assistant from Bluebird Energy calling for "
    "{name} about your smart meter installation on {day}. Please call us "
    "back at 1 800 555 0150. Thank you!",
};

static const char *const bb_vm_renewal[] = {
    "Hi {name}, this is Bluebird Energy. Your fixed-rate plan ends on "
    "{date}. Please call us back at 1 800 555 0150 to renew. Thank you!",
};

static const char *const bb_open[] = {
    "Hi, this is Bluebird Energy's virtual assistant. Am I speaking with "
    "{full}?",
    "Hello, this is {bot}, a virtual assistant calling from Bluebird Energy. "
    "Is this {name}?",
};

static const char *const bb_speaking[] = {
    "Yes, speaking.", "Yeah, who's this?", "This is {name}, what's this "
    "about?", "Yes.",
};

static const char *const bb_wrong[] = {
    "No, you have the wrong number.",
    "There's nobody here by that name.",
};

static const char *const bb_busy[] = {
    "I'm driving, can you call me back later?",
    "Not a good time, I'm at work.",
};

static const char *const bb_remind_in[] = {
    "I see your smart meter installation is booked for {day} between {time} "
    "and {time2}. Will someone be home?",
};

static const char *const bb_renew_in[] = {
    "I see your fixed-rate plan ends on {date}. You can renew for another 12 "
    "months at {rate} cents per kilowatt hour. Would you like to renew?",
};

static const char *const bb_remind[] = {
    "I'm calling to remind you about your smart meter installation on {day} "
    "between {time} and {time2}. Will someone be home?",
    "Your smart meter upgrade is scheduled for {day} at {time}. Does that "
    "still work for you?",
};

static const char *const bb_remind_yes[] = {
    "Yes, that works, I'll be home.",
    "Yep, someone will be there.",
    "Sure, that's fine.",
};

static const char *const bb_remind_confirmed[] = {
    "Great, your appointment is confirmed for {day}. The technician will "
    "call 30 minutes before arriving.",
    "Perfect, you're all set for {day}. Thank you!",
};

static const char *const bb_remind_move[] = {
    "Actually I won't be home, can we move it?",
    "That day doesn't work anymore. Can I change it?",
};

static const char *const bb_remind_offer[] = {
    "I can offer {day2} at {time2}. Would that work?",
    "The next available slot is {day2} at {time2}. Shall I book it?",
};

static const char *const bb_remind_moved[] = {
    "You're booked for {day2} at {time2} instead. Your appointment is "
    "confirmed.",
    "Done, your installation is now confirmed for {day2} at {time2}.",
};

static const char *const bb_renew[] = {
    "Your fixed-rate plan ends on {date}. You can renew for another 12 "
    "months at {rate} cents per kilowatt hour. Would you like to renew?",
    "I'm calling because your energy contract is up for renewal on {date}. "
    "We can lock in {rate} cents per kilowatt hour for a year. Shall I renew "
    "it for you?",
};

static const char *const bb_renew_yes[] = {
    "Sure, go ahead and renew it.",
    "Yes, that sounds good. Let's renew.",
    "Okay, renew it please.",
};

static const char *const bb_renewed[] = {
    "Your renewal is confirmed. You'll receive the new contract by email "
    "within a day.",
    "Great, I've renewed your plan at {rate} cents. The contract is on its "
    "way by email.",
};

static const char *const bb_rate_why[] = {
    "Why is the rate higher than last year?",
    "That's more than I pay now. Why did it go up?",
};

static const char *const bb_rate_answer[] = {
    "Wholesale energy prices went up this year, and our fixed rates follow "
    "them.",
};

static const char *const bb_rate_transfer[] = {
    "I understand how frustrating that is. Let me transfer you to a "
    "colleague, one of our energy advisors, who can go over other plans "
    "with you.",
};

static const char *const bb_dnc[] = {
    "Stop calling me. Take me off your list.",
    "Please don't call this number again.",
};

/* Reasons for calling back: BB_IN_* below index this. */
static const char *const bb_inbound_ask[] = {
    "I missed a call from this number.",
    "I got a voicemail about my meter appointment.",
    "I'm calling back about renewing my plan.",
    "My bill is way higher than usual this month.",
};
enum { BB_IN_MISSED, BB_IN_METER, BB_IN_RENEWAL, BB_IN_BILL };

static const char *const bb_meter_q[] = {
    "Will the power be off during the installation?",
    "Do I need to be there?",
    "How long does it take?",
    "Can I manage this online?",
};

static const char *const bb_meter_a[] = {
    "Yes, for about 30 minutes while the meter is swapped.",
    "Someone over 18 needs to be home to give access to the meter.",
    "About an hour, including a safety check.",
    "Yes, everything is in your online account and the Bluebird app.",
};

static const char *const bb_renew_q[] = {
    "Is the rate fixed for the whole year?",
    "Is there an exit fee if I move?",
    "Can I manage this online?",
};

static const char *const bb_renew_a[] = {
    "Yes, it's fixed for the full 12 months.",
    "If you move, there's no exit fee as long as you tell us 30 days ahead.",
    "Yes, everything is in your online account and the Bluebird app.",
};

static void bb_setup(struct cs_sample_conv *c, double progress)
{
    (void)progress;
    c->company_number = "+13125550150";
    c->customer = (3u << 24) | cs_rng_below(&c->rng, 15000);
    cs_sample_phone_handle(c);
    c->mood = pick_mood(c, 38, 47, 15);
    c->pii = CHANCE(c, 0.05);
    c->tagging = CHANCE(c, 0.4);
    cs_sample_set(c, CS_SLOT_BOT, "Sky");
    cs_sample_set(c, CS_SLOT_RATE, CS_PICK(c, bb_rates));
    if (CHANCE(c, 0.15)) {
        c->agent = "care-v1";
        c->version = 1;
        c->llm_median_ms = 600;
        c->scenario = BB_INBOUND;
        return;
    }
    c->outbound = 1;
    c->attempt = 1 + (int)cs_rng_below(&c->rng, 3);
    if (CHANCE(c, 0.5)) {
        c->agent = "outreach-v2";
        c->version = 2;
        c->logs_metrics = 1;
        c->llm_median_ms = 540;
    } else {
        c->agent = "outreach-v1";
        c->version = 1;
        c->llm_median_ms = 600;
    }
    if (CHANCE(c, 0.45)) {
        c->scenario = BB_REMINDER;
        c->campaign = "meter-upgrade-reminders";
    } else {
        c->scenario = BB_RENEWAL;
        c->campaign = "fixed-rate-renewal-2026";
    }
}

static void bb_result(struct cs_sample_conv *c, const char *result)
{
    if (c->logs_metrics)
        cs_sample_metric_str(c, "call_result", result);
}

static void bb_reminder(struct cs_sample_conv *c)
{
    cs_sample_topic(c, "meter_appointment");
    if (c->outbound)
        AGENT(c, bb_remind);
    else
        AGENT(c, bb_remind_in);
    if (CHANCE(c, 0.6)) {
        CUSTOMER(c, bb_remind_yes);
        cs_sample_tool(c, "crm.update", "crm_update", 0.02, 200);
        AGENT(c, bb_remind_confirmed);
        c->task_ok = 1;
        side_questions(c, bb_meter_q, bb_meter_a, NELEM(bb_meter_q), 2);
        bb_result(c, "confirmed");
    } else if (CHANCE(c, 0.75)) {
        CUSTOMER(c, bb_remind_move);
        cs_sample_tool(c, "calendar.search", NULL, 0.02, 260);
        AGENT(c, bb_remind_offer);
        CUSTOMER(c, yes_please);
        if (cs_sample_tool(c, "calendar.reschedule", "appointment", 0.025,
                           400)) {
            AGENT(c, bb_remind_moved);
            c->task_ok = 1;
            bb_result(c, "rescheduled");
        } else {
            agent1(c, "I'm sorry, I couldn't reschedule the visit right now. "
                      "Our team will call you back to set a new date.");
            c->task_ok = 0;
            bb_result(c, "failed");
        }
    } else {
        customer1(c, "I don't want the new meter, please cancel it.");
        cs_sample_tool(c, "calendar.cancel", "crm_update", 0.02, 260);
        agent1(c, "Okay, I've cancelled the installation. You can rebook "
                  "any time on our website.");
        c->task_ok = 1;
        bb_result(c, "cancelled");
    }
}

static void bb_renewal(struct cs_sample_conv *c)
{
    static const int choice_w[] = {33, 17, 22, 12, 8, 8};

    cs_sample_topic(c, "renewal");
    if (c->outbound)
        AGENT(c, bb_renew);
    else
        AGENT(c, bb_renew_in);
    switch (cs_rng_weighted(&c->rng, CS_POOL(choice_w))) {
    case 0:
        CUSTOMER(c, bb_renew_yes);
        if (cs_sample_tool(c, "contract.renew", "crm_update", 0.025, 900)) {
            AGENT(c, bb_renewed);
            c->task_ok = 1;
            side_questions(c, bb_renew_q, bb_renew_a, NELEM(bb_renew_q), 2);
        } else {
            agent1(c, "I'm sorry, something went wrong with the renewal. "
                      "Let me transfer you to a colleague who can finish it.");
            cs_sample_handoff(c, "warm", "energy-advisor", "tool_failure");
            c->task_ok = 0;
        }
        if (c->logs_metrics)
            cs_sample_metric_bool(c, "renewal_accepted", c->task_ok == 1);
        bb_result(c, c->task_ok == 1 ? "renewed" : "failed");
        break;
    case 1:
        customer1(c, "I need to think about it.");
        cs_sample_tool(c, "sms.send", NULL, 0.015, 110);
        agent1(c, "No problem. I've sent you the details by text.");
        bb_result(c, "undecided");
        break;
    case 2:
        CUSTOMER(c, bb_rate_why);
        AGENT(c, bb_rate_answer);
        if (c->mood == CS_MOOD_NEGATIVE || CHANCE(c, 0.6)) {
            customer1(c, "This is ridiculous, my bill keeps going up.");
            c->mood = CS_MOOD_NEGATIVE;
            AGENT(c, bb_rate_transfer);
            cs_sample_handoff(c, "warm", "energy-advisor", "rate_question");
            bb_result(c, "handed_off");
            return;
        }
        customer1(c, "Okay, I get it. Let me think about it then.");
        bb_result(c, "undecided");
        break;
    case 3:
        customer1(c, "No thanks, I'm switching providers.");
        cs_sample_tool(c, "crm.update", "crm_update", 0.02, 200);
        agent1(c, "I've noted that. Your plan will move to the standard "
                  "variable rate after {date}.");
        if (c->logs_metrics)
            cs_sample_metric_bool(c, "renewal_accepted", 0);
        bb_result(c, "declined");
        break;
    case 5:
        customer1(c, "Actually, can I switch to your green energy plan "
                     "instead?");
        agent1(c, "I can't change plans myself. Let me transfer you to a "
                  "colleague, one of our energy advisors, who can set that "
                  "up.");
        cs_sample_handoff(c, "warm", "energy-advisor", "plan_change");
        bb_result(c, "handed_off");
        return;
    default:
        CUSTOMER(c, bb_dnc);
        c->mood = CS_MOOD_NEGATIVE;
        cs_sample_tool(c, "dnc.add", "crm_update", 0.015, 150);
        agent1(c, "I'm sorry for the inconvenience. I've removed your number "
                  "from our call list.");
        bb_result(c, "do_not_call");
        break;
    }
}

static void bb_talk(struct cs_sample_conv *c)
{
    uint32_t k;

    if (c->scenario == BB_INBOUND) {
        agent1(c, "Thanks for calling Bluebird Energy. How can I help you "
                  "today?");
        k = PICK_INDEX(c, bb_inbound_ask);
        customer1(c, bb_inbound_ask[k]);
        agent1(c, "Let me look that up. Can I have your name and the service "
                  "address?");
        customer1(c, "{full}, 18 Lakeview Drive.");
        cs_sample_tool(c, "crm.lookup", NULL, 0.02, 160);
        if (k == BB_IN_BILL) {
            cs_sample_topic(c, "billing");
            agent1(c, "I'm sorry to hear that. Let me transfer you to a "
                      "colleague on our billing team who can review it.");
            cs_sample_handoff(c, "cold", "billing-team", "billing_question");
            return;
        }
        if (k == BB_IN_METER || (k == BB_IN_MISSED && CHANCE(c, 0.5)))
            bb_reminder(c);
        else
            bb_renewal(c);
        wrap_up(c, CS_POOL(bb_bye), CS_POOL(bb_bye_sorry));
        return;
    }
    if (CHANCE(c, 0.22)) {
        if (c->scenario == BB_REMINDER)
            AGENT(c, bb_vm_reminder);
        else
            AGENT(c, bb_vm_renewal);
        c->voicemail = 1;
        if (c->logs_metrics)
            cs_sample_metric_bool(c, "voicemail", 1);
        bb_result(c, "voicemail");
        return;
    }
    AGENT(c, bb_open);
    if (CHANCE(c, 0.06)) {
        CUSTOMER(c, bb_wrong);
        cs_sample_tool(c, "dnc.add", "crm_update", 0.015, 150);
        agent1(c, "I'm sorry for the trouble. I'll remove this number from "
                  "our list. Goodbye.");
        bb_result(c, "wrong_number");
        return;
    }
    if (CHANCE(c, 0.08)) {
        CUSTOMER(c, bb_busy);
        cs_sample_tool(c, "crm.update", "crm_update", 0.02, 200);
        agent1(c, "Of course. I'll call you back tomorrow afternoon. "
                  "Goodbye!");
        bb_result(c, "callback");
        return;
    }
    CUSTOMER(c, bb_speaking);
    if (c->pii && CHANCE(c, 0.5)) {
        customer1(c, "Before you go on, please use my cell {phone} from now "
                     "on, or email me at {email}.");
        cs_sample_tool(c, "crm.update", "crm_update", 0.02, 200);
        agent1(c, "Thank you, I've updated your contact details.");
    }
    if (c->scenario == BB_REMINDER)
        bb_reminder(c);
    else
        bb_renewal(c);
    wrap_up(c, CS_POOL(bb_bye), CS_POOL(bb_bye_sorry));
}

/* ---- the tenant table --------------------------------------------------- */

const struct cs_sample_tenant cs_sample_tenants[] = {
    {
        "acme-dental", "ad", -5, 1, 35,
        {100, 100, 100, 100, 95, 40, 8},
        {1, 1, 1, 1, 1, 1, 2, 5, 12, 16, 16, 14,
         10, 12, 14, 13, 11, 8, 4, 2, 2, 1, 1, 1},
        0.05, acme_setup, acme_talk,
    },
    {
        "northwind-support", "nw", 0, 0, 45,
        {100, 100, 98, 97, 92, 60, 55},
        {3, 2, 2, 2, 2, 3, 4, 6, 9, 11, 12, 13,
         14, 15, 16, 17, 17, 16, 15, 13, 11, 8, 6, 4},
        0.14, nw_setup, nw_talk,
    },
    {
        "bluebird-energy", "bb", -6, 1, 20,
        {100, 100, 100, 100, 90, 30, 3},
        {0, 0, 0, 0, 0, 0, 0, 0, 1, 10, 14, 14,
         11, 12, 14, 14, 13, 12, 9, 5, 1, 0, 0, 0},
        0.03, bb_setup, bb_talk,
    },
};

const size_t cs_sample_n_tenants =
    sizeof(cs_sample_tenants) / sizeof(cs_sample_tenants[0]);
