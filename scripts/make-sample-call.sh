#!/usr/bin/env bash
# Regenerates samples/call-en-stereo-8k.wav: a short English support call
# spoken by espeak-ng, agent on the left channel, customer on the right,
# 8 kHz μ-law like contact-center recordings. The script is in samples/README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

turns=(
  "agent|Good morning, thank you for calling Nusantara Shop, my name is Rina. How may I help you, sir?"
  "customer|Hi Rina. My order still has not arrived. It is a week late and I am really frustrated."
  "agent|I understand how frustrating that is, sir, and I am sorry for the delay. May I put you on hold for a moment while I check your order?"
  "customer|Okay."
  "agent|Thank you for holding, sir. Your parcel was delayed because of flooding at the Surabaya hub. It should arrive within two working days."
  "customer|Two more days? That is disappointing."
  "agent|I am sorry, sir. I will follow up with the courier today and I will call you back tomorrow at ten to confirm the delivery time."
  "customer|Alright, thank you."
  "agent|Thank you for your patience, sir. Is there anything else I can help you with? Have a nice day."
)

left=()
right=()
index=0
for turn in "${turns[@]}"; do
  speaker=${turn%%|*}
  text=${turn#*|}
  voice=en-us
  [ "$speaker" = customer ] && voice=en-us+f3
  speech="$work/$index.wav"
  espeak-ng -v "$voice" -s 160 -w "$work/raw$index.wav" "$text"
  sox "$work/raw$index.wav" -r 8000 -c 1 -b 16 "$speech" pad 0 0.6
  length=$(soxi -D "$speech")
  sox -n -r 8000 -c 1 -b 16 "$work/silence$index.wav" trim 0 "$length"
  if [ "$speaker" = agent ]; then
    left+=("$speech"); right+=("$work/silence$index.wav")
  else
    left+=("$work/silence$index.wav"); right+=("$speech")
  fi
  index=$((index + 1))
done
sox "${left[@]}" "$work/left.wav"
sox "${right[@]}" "$work/right.wav"
sox -M "$work/left.wav" "$work/right.wav" -e mu-law -r 8000 samples/call-en-stereo-8k.wav
soxi samples/call-en-stereo-8k.wav
